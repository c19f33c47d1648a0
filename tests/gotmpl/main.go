// Command gotmpl renders template snippets through Go's text/template and html/template
// with Alertmanager's data model, for tocsin's differential tests.
//
// stdin: {"data": <webhook v4 JSON>, "now": RFC3339, "defaults": [[name, text], ...],
//
//	"cases": [{"id": ..., "text": ..., "html": bool}]}
//
// stdout: [{"id": ..., "ok": bool, "out": ..., "err": ...}]
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"os"
	texttemplate "text/template"
	"time"
	_ "time/tzdata"

	am "gotmpl/amtemplate"
)

type input struct {
	Data     json.RawMessage `json:"data"`
	Now      string          `json:"now"`
	Defaults [][2]string     `json:"defaults"`
	Cases    []struct {
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

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(2)
	}
	var data am.Data
	if err := json.Unmarshal(in.Data, &data); err != nil {
		fmt.Fprintln(os.Stderr, "bad data:", err)
		os.Exit(2)
	}
	for i := range data.Alerts {
		data.Alerts[i].StartsAt = data.Alerts[i].StartsAt.In(time.Local)
		data.Alerts[i].EndsAt = data.Alerts[i].EndsAt.In(time.Local)
	}
	now, err := time.Parse(time.RFC3339Nano, in.Now)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad now:", err)
		os.Exit(2)
	}
	now = now.In(time.Local)
	funcs := am.Funcs(now)
	tt := texttemplate.New("").Option("missingkey=zero").Funcs(funcs)
	ht := htmltemplate.New("").Option("missingkey=zero").Funcs(funcs)
	for _, d := range in.Defaults {
		if _, err := tt.New(d[0]).Parse(d[1]); err != nil {
			fmt.Fprintln(os.Stderr, "defaults (text):", err)
			os.Exit(2)
		}
		if _, err := ht.New(d[0]).Parse(d[1]); err != nil {
			fmt.Fprintln(os.Stderr, "defaults (html):", err)
			os.Exit(2)
		}
	}
	results := make([]result, 0, len(in.Cases))
	for _, c := range in.Cases {
		c := c
		out, err := run(func() (string, error) {
			var buf bytes.Buffer
			if c.HTML {
				cl, err := ht.Clone()
				if err != nil {
					return "", err
				}
				t, err := cl.New("").Option("missingkey=zero").Parse(c.Text)
				if err != nil {
					return "", err
				}
				err = t.Execute(&buf, &data)
				return buf.String(), err
			}
			cl, err := tt.Clone()
			if err != nil {
				return "", err
			}
			t, err := cl.New("").Option("missingkey=zero").Parse(c.Text)
			if err != nil {
				return "", err
			}
			err = t.Execute(&buf, &data)
			return buf.String(), err
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
		fmt.Fprintln(os.Stderr, "encode:", err)
		os.Exit(2)
	}
}
