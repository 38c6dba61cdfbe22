package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// reloadStorm: 20 forced reloads of the whole config through the admin API's /load (each one
// provisions a new mfa app and stops the old one) leave the heap in use, after a GC, and the
// number of goroutines where they were. One Redis client serves every reload: a client per
// reload kept about 175 KiB each after Close (4 MiB over 20 reloads, growing without end).
// The tolerance, 2 MiB, lies between that and what 20 reloads add now (under 1 MiB, measured:
// Caddy's own caches and the metrics of the reloaded routes).
func reloadStorm(t *testing.T, n *node) {
	config := adminGet(t, n, "/config/")
	reload := func() {
		req, _ := http.NewRequest("POST", n.admin+"/load", strings.NewReader(config))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Cache-Control", "must-revalidate") // reload even though nothing changed
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reload: %d %s", resp.StatusCode, body)
		}
	}
	for range 3 { // the first reloads fill what lives once per process (pools, caches)
		reload()
	}
	heap0, routines0 := settledMemory(t, n)
	for range 20 {
		reload()
	}
	heap1, routines1 := settledMemory(t, n)
	t.Logf("after 20 reloads: heap in use %.1f -> %.1f MiB, goroutines %d -> %d", heap0/(1<<20), heap1/(1<<20), routines0, routines1)
	if heap1 > heap0+2<<20 {
		t.Errorf("the heap in use grew from %.1f to %.1f MiB over 20 reloads", heap0/(1<<20), heap1/(1<<20))
	}
	if routines1 > routines0+5 {
		t.Errorf("goroutines grew from %d to %d over 20 reloads", routines0, routines1)
	}
	// The site's server was replaced: connections kept alive from before are closed.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	n.signIn(t, "alice") // a password sign-in reads the store through the pooled client
}

// settledMemory forces a GC through the admin endpoint's pprof (twice: the first frees what the
// finalizers then release) and reads go_memstats_heap_inuse_bytes and go_goroutines from its
// /metrics.
func settledMemory(t *testing.T, n *node) (heap float64, goroutines int) {
	for range 2 {
		adminGet(t, n, "/debug/pprof/heap?gc=1")
	}
	metrics := adminGet(t, n, "/metrics")
	sc := bufio.NewScanner(strings.NewReader(metrics))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "go_memstats_heap_inuse_bytes":
			heap, _ = strconv.ParseFloat(value, 64)
		case "go_goroutines":
			f, _ := strconv.ParseFloat(value, 64)
			goroutines = int(f)
		}
	}
	if heap == 0 || goroutines == 0 {
		t.Fatalf("no go_memstats_heap_inuse_bytes or go_goroutines on the admin /metrics:\n%.2000s", metrics)
	}
	return heap, goroutines
}

func adminGet(t *testing.T, n *node, path string) string {
	t.Helper()
	resp, err := http.Get(n.admin + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %.300s", path, resp.StatusCode, body)
	}
	return string(body)
}

// auditEvents counts the audit events named msg for user in a node's log.
func auditEvents(n *node, msg, user string) int {
	count := 0
	for _, line := range strings.Split(n.log.String(), "\n") {
		var e struct{ Logger, Msg, User string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Logger == "mfa.audit" && e.Msg == msg && e.User == user {
			count++
		}
	}
	return count
}
