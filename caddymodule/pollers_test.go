package caddymodule

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
)

// provisioned provisions a as Caddy does before validating or starting a config, on a Caddy
// context of its own (file storage in a temporary folder), outside the running instance.
func provisioned(t *testing.T, a *App) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	defaultStorage := certmagic.Default.Storage
	t.Cleanup(func() { certmagic.Default.Storage = defaultStorage })
	root, err := caddy.ProvisionContext(&caddy.Config{
		StorageRaw: json.RawMessage(fmt.Sprintf(`{"module":"file_system","root":%q}`, t.TempDir())),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(root)
	t.Cleanup(cancel)
	if err := a.Provision(ctx); err != nil {
		t.Fatalf("provision: %v", err)
	}
}

// TestProvisionLeavesCheckingToValidate: Caddy validates after provisioning, so Provision does
// not: a value Provision does not build on reaches Validate, which refuses it.
func TestProvisionLeavesCheckingToValidate(t *testing.T) {
	many := 500
	a := &App{MaxDevices: &many}
	provisioned(t, a)
	defer a.Cleanup()
	if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "max_devices") {
		t.Fatalf("validate: %v, want max_devices refused", err)
	}
}

// reloadMarks name the functions of the background reloads; startMarks add the goroutine that
// is about to run one. A goroutine past its reload, returning from its wrapper after
// WaitGroup.Done, no longer counts: its work has ended.
var (
	reloadMarks = []string{"caddy-mfa/store.Poll(", "(*Revocations).Run", "(*KeyIndex).Run", "(*Devices).RunSweeper", "(*WebAuthn).RunSweeper", "(*Grants).RunSweeper"}
	startMarks  = append([]string{"caddymodule.(*pollers).start.func", "caddymodule.(*App).Start.gowrap"}, reloadMarks...)
)

// pollerGoroutines counts the goroutines whose stacks hold one of marks, and shows them.
func pollerGoroutines(marks []string) (int, string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count, stacks := 0, ""
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, mark := range marks {
			if strings.Contains(g, mark) {
				count++
				stacks += g + "\n\n"
				break
			}
		}
	}
	return count, stacks
}

// settle waits, a second at most, for the goroutines of a round's pollers that are past their
// reload but still returning from their wrappers (which startMarks count) to end; a busy
// machine can keep one there after Stop returned, and the next round's count would hold it.
func settle(others int) {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		if n, _ := pollerGoroutines(startMarks); n <= others {
			return
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// TestStopWaitsForThePollers: Stop, and Cleanup without Stop (a config that failed to start),
// return only once every background reload has ended, however busy the reloads are.
func TestStopWaitsForThePollers(t *testing.T) {
	a := &App{}
	provisioned(t, a)
	a.pollEvery = time.Millisecond            // reloads in flight when Stop comes
	t.Cleanup(func() { _ = a.Cleanup() })     // a failed round must not leave a running a to later tests
	others, _ := pollerGoroutines(startMarks) // the running instance's, if an earlier test left one
	for i := range 50 {
		settle(others)
		if err := a.Start(); err != nil {
			t.Fatal(err)
		}
		if n, _ := pollerGoroutines(startMarks); n != others+5 {
			t.Fatalf("round %d: %d pollers after Start, want 5 (revocations, access keys, pending devices, passkey ceremonies, command-line sign-ins)", i, n-others)
		}
		if err := a.Stop(); err != nil {
			t.Fatal(err)
		}
		if n, stacks := pollerGoroutines(reloadMarks); n != others {
			t.Fatalf("round %d: %d pollers still run after Stop:\n%s", i, n-others, stacks)
		}
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	if err := a.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if n, stacks := pollerGoroutines(reloadMarks); n != others {
		t.Fatalf("%d pollers still run after Cleanup:\n%s", n-others, stacks)
	}
}
