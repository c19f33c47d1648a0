// The template functions Alertmanager added after 0.25 (0.26 to 0.34), the only part of the
// function map that is not the installed package's: Debian ships 0.25. Each is written after
// the Alertmanager source that added it, with "now" fixed so renders are reproducible.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	tmplhtml "html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

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

// newerFuncs returns the functions of Alertmanager 0.26+ that the installed 0.25 lacks.
func newerFuncs(now time.Time) map[string]interface{} {
	return map[string]interface{}{
		"trimSpace":   strings.TrimSpace,
		"safeUrl":     func(s string) tmplhtml.URL { return tmplhtml.URL(s) },
		"urlUnescape": url.QueryUnescape,
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
