package web

import (
	"net/url"
	"strings"
)

// SafeReturn keeps a return target only when it is a path on this site: it must start with a
// single "/", and hold no backslash, scheme, host or control character, so that "//evil",
// "/\evil" and "https://evil" all fall back to "/".
func SafeReturn(target string) string {
	if target == "" || target[0] != '/' || strings.HasPrefix(target, "//") || strings.ContainsAny(target, "\\") {
		return "/"
	}
	for i := 0; i < len(target); i++ {
		if target[i] < 0x20 || target[i] == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return target
}
