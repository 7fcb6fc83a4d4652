//! Sprig `date.go`: dates and durations.

#[allow(clippy::wildcard_imports)]
use super::*;

/// The functions of this family.
pub(super) const FUNCS: &[Func] = &[
    Func::unsupported("ago"),
    Func::unsupported("date"),
    Func::unsupported("date_in_zone"),
    Func::unsupported("date_modify"),
    Func::unsupported("dateInZone"),
    Func::unsupported("dateModify"),
    Func::unsupported("duration"),
    Func::unsupported("durationRound"),
    Func::unsupported("htmlDate"),
    Func::unsupported("htmlDateInZone"),
    Func::unsupported("must_date_modify"),
    Func::unsupported("mustDateModify"),
    Func::unsupported("mustToDate"),
    Func::unsupported("now"),
    Func::unsupported("toDate"),
    Func::unsupported("unixEpoch"),
];
