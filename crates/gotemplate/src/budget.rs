//! One budget per object: every `template.data` item of a SealedSecret draws on the same
//! output, work, memory and wall-clock allowance, so that no object can make the controller
//! run out of memory or stall it, however many items it has.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::exec::Exec;
use crate::value::{ElemTy, MapData, Value};
use crate::{ErrKind, SecretBytes, TemplateError, parse};

/// The allowance for rendering all `template.data` items of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total rendered output of all items, in bytes (a Secret holds at most 1 MiB).
    pub max_output: usize,
    /// Number of items rendered.
    pub max_items: usize,
    /// Work units: one per evaluation step, per node compared, per list element searched,
    /// per [`WORK_UNIT_BYTES`] bytes scanned.
    pub max_work: u64,
    /// Bytes allocated for intermediate values, counted cumulatively.
    pub max_memory: usize,
    /// Nesting of actions, parentheses, template calls and lists.
    pub max_depth: usize,
    /// Elements of a single list.
    pub max_list: usize,
    /// Wall-clock time from [`Budget::new`] until rendering stops.
    pub deadline: Duration,
}

/// Bytes of a string scan that cost one work unit.
pub const WORK_UNIT_BYTES: usize = 256;

/// Default [`Limits::deadline`].
pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(100);

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output: 1 << 20,
            max_items: 1024,
            max_work: 10_000_000,
            // All workers of a controller may render at once within one pod's memory limit,
            // and no intermediate value much larger than the output is of use to a Secret.
            max_memory: 16 << 20,
            max_depth: 100,
            max_list: 1_000_000,
            deadline: DEFAULT_DEADLINE,
        }
    }
}

/// Which limit stopped a render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// [`Limits::max_output`].
    Output,
    /// [`Limits::max_items`].
    Items,
    /// [`Limits::max_work`].
    Work,
    /// [`Limits::max_memory`].
    Memory,
    /// [`Limits::max_depth`].
    Depth,
    /// [`Limits::max_list`].
    ListSize,
    /// A `printf` width or precision over the output budget.
    FormatWidth,
    /// [`Limits::deadline`].
    Deadline,
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Limit::Output => "rendered output per object",
            Limit::Items => "template items per object",
            Limit::Work => "template work per object",
            Limit::Memory => "template memory per object",
            Limit::Depth => "nesting depth",
            Limit::ListSize => "list size",
            Limit::FormatWidth => "printf width",
            Limit::Deadline => "template time per object",
        })
    }
}

/// How often (in work units) the clock is read.
const CLOCK_EVERY: u64 = 256;

/// What is left of one object's [`Limits`]. Create one per object, then [`Budget::render`]
/// each item with it.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    deadline: Instant,
    output_left: usize,
    items_left: usize,
    work_left: u64,
    memory_left: usize,
    until_clock: u64,
}

impl Budget {
    /// A full budget; the deadline runs from now.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        let now = Instant::now();
        Budget {
            deadline: now.checked_add(limits.deadline).unwrap_or(now),
            output_left: limits.max_output,
            items_left: limits.max_items,
            work_left: limits.max_work,
            memory_left: limits.max_memory,
            until_clock: CLOCK_EVERY,
            limits,
        }
    }

    /// The limits this budget started with.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Renders one item: `source` over `values` (the template's `.`, a Go
    /// `map[string]string` whose values are the raw plaintext bytes), charging this budget.
    ///
    /// # Errors
    /// [`TemplateError`] when the source does not parse, execution fails, or a limit is hit
    /// (after which every further item fails too).
    pub fn render(
        &mut self,
        source: &str,
        values: &BTreeMap<String, &[u8]>,
    ) -> Result<SecretBytes, TemplateError> {
        let limit = |limit| TemplateError::Limit { limit };
        self.items_left = self.items_left.checked_sub(1).ok_or(limit(Limit::Items))?;
        if Instant::now() >= self.deadline {
            return Err(limit(Limit::Deadline));
        }
        let parsed = parse::parse(source, &self.limits)?;
        let mut entries = BTreeMap::new();
        for (k, v) in values {
            entries.insert(SecretBytes::from_slice(k.as_bytes()), Value::str(v));
        }
        let data = Value::Map(Rc::new(std::cell::RefCell::new(MapData {
            elem: ElemTy::Str,
            entries,
        })));
        let mut ex = Exec::new(&parsed, source, self);
        ex.run(data)?;
        let out = std::mem::take(&mut ex.out);
        drop(ex);
        self.output_left = self.output_left.saturating_sub(out.len());
        Ok(out)
    }

    pub(crate) fn output_left(&self) -> usize {
        self.output_left
    }

    /// The largest intermediate value still affordable: builders that cannot charge before
    /// they build stop at this size.
    pub(crate) fn memory_left(&self) -> usize {
        self.memory_left
    }

    pub(crate) fn max_depth(&self) -> usize {
        self.limits.max_depth
    }

    pub(crate) fn max_list(&self) -> usize {
        self.limits.max_list
    }

    /// Charges an operation that runs in one step (key generation, password hashing): its
    /// `units` of work, and refuses it before it starts unless `expected` time is left, since
    /// the deadline is only seen between steps.
    pub(crate) fn charge_step(&mut self, units: u64, expected: Duration) -> Result<(), ErrKind> {
        let finish = Instant::now().checked_add(expected);
        if finish.is_none_or(|finish| finish > self.deadline) {
            return Err(ErrKind::Limit(Limit::Deadline));
        }
        self.charge_work(units)
    }

    /// Charges `units` of work; reads the clock every [`CLOCK_EVERY`] units.
    pub(crate) fn charge_work(&mut self, units: u64) -> Result<(), ErrKind> {
        self.work_left = self
            .work_left
            .checked_sub(units)
            .ok_or(ErrKind::Limit(Limit::Work))?;
        match self.until_clock.checked_sub(units) {
            Some(left) if left > 0 => self.until_clock = left,
            _ => {
                self.until_clock = CLOCK_EVERY;
                if Instant::now() >= self.deadline {
                    return Err(ErrKind::Limit(Limit::Deadline));
                }
            }
        }
        Ok(())
    }

    /// Charges a scan over `bytes` bytes.
    pub(crate) fn charge_bytes(&mut self, bytes: usize) -> Result<(), ErrKind> {
        self.charge_work(u64::try_from(bytes / WORK_UNIT_BYTES).unwrap_or(u64::MAX))
    }

    /// Charges `bytes` of intermediate allocation.
    pub(crate) fn charge_memory(&mut self, bytes: usize) -> Result<(), ErrKind> {
        self.memory_left = self
            .memory_left
            .checked_sub(bytes)
            .ok_or(ErrKind::Limit(Limit::Memory))?;
        Ok(())
    }
}
