// Package template mirrors Alertmanager's template data model and function map, so the
// differential tests render exactly what Alertmanager would. Written for tocsin's tests.
package template

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	tmplhtml "html/template"
	"math"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// KV is a label or annotation set.
type KV map[string]string

// Pair is one name/value entry.
type Pair struct{ Name, Value string }

// Pairs is a list of entries.
type Pairs []Pair

// Strings is a list of names or values.
type Strings []string

// Join joins the strings with sep.
func (s Strings) Join(sep string) string { return strings.Join(s, sep) }

// Names returns the names.
func (ps Pairs) Names() Strings {
	out := make(Strings, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// Values returns the values.
func (ps Pairs) Values() Strings {
	out := make(Strings, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Value)
	}
	return out
}

// String renders "a=b, c=d".
func (ps Pairs) String() string {
	parts := make([]string, 0, len(ps))
	for _, p := range ps {
		parts = append(parts, p.Name+"="+p.Value)
	}
	return strings.Join(parts, ", ")
}

// SortedPairs sorts by name with alertname first.
func (kv KV) SortedPairs() Pairs {
	names := make([]string, 0, len(kv))
	for k := range kv {
		if k != "alertname" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if _, ok := kv["alertname"]; ok {
		names = append([]string{"alertname"}, names...)
	}
	out := make(Pairs, 0, len(names))
	for _, n := range names {
		out = append(out, Pair{n, kv[n]})
	}
	return out
}

// Remove drops keys.
func (kv KV) Remove(keys []string) KV {
	out := KV{}
	for k, v := range kv {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// Names in SortedPairs order.
func (kv KV) Names() Strings { return kv.SortedPairs().Names() }

// Values in SortedPairs order.
func (kv KV) Values() Strings { return kv.SortedPairs().Values() }

// String renders "a=b, c=d".
func (kv KV) String() string { return kv.SortedPairs().String() }

// Alert is one alert.
type Alert struct {
	Status       string    `json:"status"`
	Labels       KV        `json:"labels"`
	Annotations  KV        `json:"annotations"`
	StartsAt     time.Time `json:"startsAt"`
	EndsAt       time.Time `json:"endsAt"`
	GeneratorURL string    `json:"generatorURL"`
	Fingerprint  string    `json:"fingerprint"`
}

// Alerts is the alert list.
type Alerts []Alert

// Firing returns firing alerts.
func (as Alerts) Firing() []Alert {
	out := []Alert{}
	for _, a := range as {
		if a.Status == "firing" {
			out = append(out, a)
		}
	}
	return out
}

// Resolved returns resolved alerts.
func (as Alerts) Resolved() []Alert {
	out := []Alert{}
	for _, a := range as {
		if a.Status == "resolved" {
			out = append(out, a)
		}
	}
	return out
}

// Data is the template data.
type Data struct {
	Receiver           string `json:"receiver"`
	Status             string `json:"status"`
	Alerts             Alerts `json:"alerts"`
	NotificationReason string `json:"notification_reason"`
	GroupLabels        KV     `json:"groupLabels"`
	CommonLabels       KV     `json:"commonLabels"`
	CommonAnnotations  KV     `json:"commonAnnotations"`
	RouteLabels        KV     `json:"routeLabels"`
	ExternalURL        string `json:"externalURL"`
}

func toFloat(v interface{}) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	case uint8:
		return float64(x), nil
	case time.Duration:
		return x.Seconds(), nil
	case string:
		return strconv.ParseFloat(x, 64)
	}
	return 0, fmt.Errorf("can't convert %T to float", v)
}

func humanizeDuration(v interface{}) (string, error) {
	x, err := toFloat(v)
	if err != nil {
		return "", err
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Sprintf("%.4g", x), nil
	}
	if x == 0 {
		return fmt.Sprintf("%.4gs", x), nil
	}
	if math.Abs(x) >= 1 {
		sign := ""
		if x < 0 {
			sign, x = "-", -x
		}
		d := int64(x)
		days, hours, mins, secs := d/86400, (d/3600)%24, (d/60)%60, d%60
		switch {
		case days != 0:
			return fmt.Sprintf("%s%dd %dh %dm %ds", sign, days, hours, mins, secs), nil
		case hours != 0:
			return fmt.Sprintf("%s%dh %dm %ds", sign, hours, mins, secs), nil
		case mins != 0:
			return fmt.Sprintf("%s%dm %ds", sign, mins, secs), nil
		}
		return fmt.Sprintf("%s%.4gs", sign, x), nil
	}
	prefix := ""
	for _, p := range []string{"m", "u", "n", "p", "f", "a", "z", "y"} {
		if math.Abs(x) >= 1 {
			break
		}
		prefix = p
		x *= 1000
	}
	return fmt.Sprintf("%.4g%ss", x, prefix), nil
}

// Funcs is Alertmanager's function map with a fixed "now".
func Funcs(now time.Time) map[string]interface{} {
	return map[string]interface{}{
		"toUpper":     strings.ToUpper,
		"toLower":     strings.ToLower,
		"title":       strings.Title,
		"trimSpace":   strings.TrimSpace,
		"join":        func(sep string, s []string) string { return strings.Join(s, sep) },
		"match":       regexp.MatchString,
		"safeHtml":    func(s string) tmplhtml.HTML { return tmplhtml.HTML(s) },
		"safeUrl":     func(s string) tmplhtml.URL { return tmplhtml.URL(s) },
		"urlUnescape": url.QueryUnescape,
		"reReplaceAll": func(pattern, repl, text string) string {
			return regexp.MustCompile(pattern).ReplaceAllString(text, repl)
		},
		"stringSlice": func(s ...string) []string { return s },
		"date":        func(layout string, t time.Time) string { return t.Format(layout) },
		"tz": func(name string, t time.Time) (time.Time, error) {
			loc, err := time.LoadLocation(name)
			if err != nil {
				return time.Time{}, err
			}
			return t.In(loc), nil
		},
		"since":            func(t time.Time) time.Duration { return now.Sub(t) },
		"toDate": func(layout, value string) time.Time {
			t, _ := time.ParseInLocation(layout, value, time.Local)
			return t
		},
		"mustToDate": func(layout, value string) (time.Time, error) {
			return time.ParseInLocation(layout, value, time.Local)
		},
		"humanizeDuration": humanizeDuration,
		"toJson": func(v interface{}) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"now": func() time.Time { return now },
		"dict": func(kv ...interface{}) (map[string]interface{}, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := map[string]interface{}{}
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key must be a string, got %T", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"list": func(items ...interface{}) []interface{} { return items },
		"append": func(l []interface{}, items ...interface{}) []interface{} {
			out := append([]interface{}{}, l...)
			return append(out, items...)
		},
		"base64encode": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		"base64decode": func(s string) (string, error) {
			b, err := base64.StdEncoding.DecodeString(s)
			return string(b), err
		},
	}
}
