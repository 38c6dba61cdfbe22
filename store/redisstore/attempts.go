package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// reserveScript is store.Attempts.Reserve as one Redis script: read, decide and write happen in
// one atomic step on the server, so no number of nodes and requests at once can slip an attempt
// past the count (a WATCH loop would also hold, but retries under exactly that load). The record
// is the JSON that Go writes; numbers are written with %d, as cjson would print large ones in
// exponent form.
var reserveScript = redis.NewScript(`
local now, maxFailures, base, most, epoch = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local failures, locks, lockedUntil, current = 0, 0, 0, epoch
local raw = redis.call('GET', KEYS[1])
if raw then
  local ok, rec = pcall(cjson.decode, raw)
  if not ok or type(rec) ~= 'table' then
    return redis.error_reply('attempt record is unreadable')
  end
  failures = tonumber(rec.failures) or 0
  locks = tonumber(rec.locks) or 0
  lockedUntil = tonumber(rec.locked_until_ms) or 0
  if type(rec.epoch) == 'string' and rec.epoch ~= '' then current = rec.epoch end
end
if now < lockedUntil then
  return {0, lockedUntil - now, 0, current}
end
failures = failures + 1
local locked = 0
if failures >= maxFailures then
  locked = base
  for _ = 1, locks do
    if locked >= most then break end
    locked = locked * 2
  end
  if locked > most then locked = most end
  failures, locks, lockedUntil, current = 0, locks + 1, now + locked, epoch
end
redis.call('SET', KEYS[1], string.format('{"failures":%d,"locks":%d,"locked_until_ms":%d,"epoch":"%s"}', failures, locks, lockedUntil, current))
return {1, 0, locked, current}
`)

// ReserveAttempt implements store.AttemptReserver.
func (s *Store) ReserveAttempt(ctx context.Context, key string, now time.Time, p store.AttemptPolicy, epoch string) (store.Reservation, error) {
	args := []any{now.UnixMilli(), p.MaxFailures, p.BaseDelay.Milliseconds(), p.MaxDelay.Milliseconds(), epoch}
	out, err := s.reserve(ctx, key, reserveScript.EvalSha, args)
	if redis.HasErrorPrefix(err, "NOSCRIPT") { // the first time on this master: send the source
		out, err = s.reserve(ctx, key, reserveScript.Eval, args)
	}
	if err != nil {
		return store.Reservation{}, fmt.Errorf("reserving attempt %s: %w", key, err)
	}
	if len(out) != 4 {
		return store.Reservation{}, fmt.Errorf("reserving attempt %s: unexpected answer %v", key, out)
	}
	granted, ok1 := out[0].(int64)
	wait, ok2 := out[1].(int64)
	locked, ok3 := out[2].(int64)
	current, ok4 := out[3].(string)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return store.Reservation{}, fmt.Errorf("reserving attempt %s: unexpected answer %v", key, out)
	}
	return store.Reservation{
		Granted: granted == 1,
		Wait:    time.Duration(wait) * time.Millisecond,
		Locked:  time.Duration(locked) * time.Millisecond,
		Epoch:   current,
	}, nil
}

// reserve runs the script in the index's order (the attempt record is a record like any other:
// List of "lockout/" finds it).
func (s *Store) reserve(ctx context.Context, key string, run func(context.Context, redis.Scripter, []string, ...any) *redis.Cmd, args []any) ([]any, error) {
	var reserved *redis.Cmd
	_, err := s.indexedWrite(ctx, key, func(p redis.Pipeliner) {
		reserved = run(ctx, p, []string{s.key(key)}, args...)
	})
	if reserved != nil && reserved.Err() != nil {
		return nil, reserved.Err()
	}
	if err != nil {
		return nil, err
	}
	return reserved.Slice()
}

// Interface guards
var _ store.AttemptReserver = (*Store)(nil)
