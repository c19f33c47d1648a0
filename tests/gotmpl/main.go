// Command gotmpl renders template snippets with Alertmanager's own template package, for
// tocsin's differential tests. It is built in GOPATH mode (GO111MODULE=off,
// GOPATH=/usr/share/gocode) against the source Debian's golang-github-prometheus-alertmanager-dev
// installs, offline: the data types (Data, Alert, KV, Pairs), the function map, default.tmpl and
// email.tmpl are that package's. newer.go adds only the functions Alertmanager gained after the
// packaged 0.25.
//
// stdin: {"data": <webhook v4 JSON>, "now": RFC3339, "templates": <dir of default.tmpl>,
//
//	"overlay": [template files parsed after the defaults, as Alertmanager parses a config's
//	`templates:`], "cases": [{"id": ..., "text": ..., "html": bool}]}
//
// stdout: [{"id": ..., "ok": bool, "out": ..., "err": ...}]
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
	_ "time/tzdata"

	"github.com/prometheus/alertmanager/template"
)

type input struct {
	Data      json.RawMessage `json:"data"`
	Now       string          `json:"now"`
	Templates string          `json:"templates"`
	Overlay   []string        `json:"overlay"`
	Cases     []struct {
		ID   string `json:"id"`
		Text string `json:"text"`
		HTML bool   `json:"html"`
	} `json:"cases"`
}

type result struct {
	ID  string `json:"id"`
	OK  bool   `json:"ok"`
	Out string `json:"out"`
	Err string `json:"err"`
}

func run(f func() (string, error)) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return f()
}

func fail(what string, err error) {
	fmt.Fprintln(os.Stderr, what+":", err)
	os.Exit(2)
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail("bad input", err)
	}
	// The alert times keep the offsets they were written with, as when Alertmanager decodes a
	// POSTed alert.
	var data template.Data
	if err := json.Unmarshal(in.Data, &data); err != nil {
		fail("bad data", err)
	}
	now, err := time.Parse(time.RFC3339Nano, in.Now)
	if err != nil {
		fail("bad now", err)
	}
	for name, f := range newerFuncs(now.In(time.Local)) {
		if _, ok := template.DefaultFuncs[name]; !ok {
			template.DefaultFuncs[name] = f
		}
	}
	tmpl, err := template.FromGlobs(in.Templates, in.Overlay...)
	if err != nil {
		fail("default templates", err)
	}
	results := make([]result, 0, len(in.Cases))
	for _, c := range in.Cases {
		c := c
		out, err := run(func() (string, error) {
			if c.HTML {
				return tmpl.ExecuteHTMLString(c.Text, &data)
			}
			return tmpl.ExecuteTextString(c.Text, &data)
		})
		r := result{ID: c.ID, OK: err == nil, Out: out}
		if err != nil {
			r.Err = err.Error()
		}
		results = append(results, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(results); err != nil {
		fail("encode", err)
	}
}
