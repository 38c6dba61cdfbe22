package caddystore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// breakIfStale removes the lock file at path when its holder is gone (isStale), and reports
// whether the lock may be free now: removed, or released meanwhile.
func breakIfStale(path string) (bool, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking lock file: %w", err)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking lock file: %w", err)
	}
	if !isStale(info, data) {
		return false, nil
	}
	return breakStale(path, info, data)
}

// isStale: times older than two refreshes, or a file empty or unreadable for longer than
// emptyLockGrace.
func isStale(info os.FileInfo, data []byte) bool {
	var meta lockMeta
	if json.Unmarshal(data, &meta) == nil {
		last := meta.Updated
		if last.IsZero() {
			last = meta.Created
		}
		return time.Since(last) > 2*lockFreshness
	}
	return time.Since(info.ModTime()) > emptyLockGrace
}

// breakStale removes the lock file judged stale, under a break file of its own: of several
// waiters that judged it stale, one removes it, and none removes the lock another waiter made
// in its place meanwhile (the file at path is checked to be the one judged: the same inode,
// time and bytes). certmagic removed whatever file had the name, so two waiters could both get
// in after a crash. Left open: a waiter that removes a crashed breaker's old break file may
// remove, in the same instant, the one a live breaker has just made.
func breakStale(path string, judged os.FileInfo, judgedData []byte) (bool, error) {
	breaker := path + ".break"
	f, err := os.OpenFile(breaker, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		// Another waiter is breaking it. One that crashed doing so leaves its break file,
		// which counts for nothing once it is as old as a stale lock.
		if info, err := os.Stat(breaker); err == nil && time.Since(info.ModTime()) > 2*lockFreshness {
			_ = os.Remove(breaker)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("breaking a stale lock: %w", err)
	}
	_ = f.Close()
	defer func() { _ = os.Remove(breaker) }()
	now, err := os.Stat(path)
	var data []byte
	if err == nil {
		data, err = os.ReadFile(path)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("breaking a stale lock: %w", err)
	case !os.SameFile(now, judged) || !now.ModTime().Equal(judged.ModTime()) || !bytes.Equal(data, judgedData):
		return true, nil // another file by now: look at it afresh
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("removing a stale lock file: %w", err)
	}
	return true, nil
}
