package caddymodule

import (
	"encoding/json"
	"strings"
	"testing"
)

// max_devices 0 in JSON is refused, not read as the default; left out, it is 8.
func TestMaxDevicesZeroIsRefusedInJSON(t *testing.T) {
	var a App
	if err := json.Unmarshal([]byte(`{"max_devices": 0}`), &a); err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err == nil || !strings.Contains(err.Error(), "max_devices: 0 is not between 1 and 100") {
		t.Fatalf("validate: %v", err)
	}
	var unset App
	unset.setDefaults()
	if *unset.MaxDevices != 8 {
		t.Fatalf("default max_devices = %d", *unset.MaxDevices)
	}
}
