// Command parity renders the corpus with Go's text/template and Sprig v3's GenericFuncMap,
// the way upstream's controller renders spec.template.data, and writes what it got to
// expected.txt. With -time N it instead renders the whole corpus N times and prints the
// time per template.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
)

type testCase struct {
	name   string
	source string
}

// readCorpus reads "--- name" headers, each followed by the template's lines.
func readCorpus(path string) ([]testCase, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cases []testCase
	var cur *testCase
	var lines []string
	flush := func() {
		if cur != nil {
			cur.source = strings.Join(lines, "\n")
			cases = append(cases, *cur)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(text), "\n"), "\n") {
		if name, ok := strings.CutPrefix(line, "--- "); ok {
			flush()
			cur = &testCase{name: name}
			lines = nil
			continue
		}
		if cur != nil {
			lines = append(lines, line)
		}
	}
	flush()
	return cases, nil
}

// readInputs reads "key<TAB>base64(value)" lines: the template's data, as upstream's
// map[string]string of decrypted values.
func readInputs(path string) (map[string]string, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	data := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		key, value, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("inputs: line without a tab: %q", line)
		}
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return nil, fmt.Errorf("inputs: %s: %v", key, err)
		}
		data[key] = string(raw)
	}
	return data, nil
}

// funcs is upstream's function set: Sprig's generic functions without env, expandenv and
// getHostByName.
func funcs() template.FuncMap {
	m := sprig.GenericFuncMap()
	delete(m, "env")
	delete(m, "expandenv")
	delete(m, "getHostByName")
	return m
}

// render returns the error class (ok, parse, undefined, exec) and the output.
func render(name, source string, fm template.FuncMap, data map[string]string) (string, []byte) {
	t, err := template.New(name).Funcs(fm).Parse(source)
	if err != nil {
		if strings.Contains(err.Error(), "not defined") && strings.Contains(err.Error(), "function") {
			return "undefined", nil
		}
		return "parse", nil
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		return "exec", nil
	}
	return "ok", out.Bytes()
}

func main() {
	dir := flag.String("dir", ".", "directory holding corpus.txt and inputs.txt")
	times := flag.Int("time", 0, "render the corpus this many times and print the time per template")
	skip := flag.String("skip", "", "with -time: leave out the cases this file names (first word of each line)")
	flag.Parse()
	cases, err := readCorpus(*dir + "/corpus.txt")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	data, err := readInputs(*dir + "/inputs.txt")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fm := funcs()
	if *times > 0 {
		if *skip != "" {
			text, err := os.ReadFile(*skip)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			left := map[string]bool{}
			for _, line := range strings.Split(string(text), "\n") {
				if fields := strings.Fields(line); len(fields) > 0 && !strings.HasPrefix(line, "#") {
					left[fields[0]] = true
				}
			}
			kept := cases[:0]
			for _, c := range cases {
				if !left[c.name] {
					kept = append(kept, c)
				}
			}
			cases = kept
		}
		start := time.Now()
		for i := 0; i < *times; i++ {
			for _, c := range cases {
				render(c.name, c.source, fm, data)
			}
		}
		per := time.Since(start) / time.Duration(*times*len(cases))
		fmt.Printf("go: %d templates x %d: %v per template\n", len(cases), *times, per)
		return
	}
	w := bufio.NewWriter(os.Stdout)
	for _, c := range cases {
		class, out := render(c.name, c.source, fm, data)
		fmt.Fprintf(w, "%s\t%s\t%s\n", c.name, class, base64.StdEncoding.EncodeToString(out))
	}
	w.Flush()
}
