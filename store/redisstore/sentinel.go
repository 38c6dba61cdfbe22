package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// checkSentinels asks the sentinels for the master before the client is used. go-redis answers
// every failure, a master name no sentinel knows included, with "all sentinels specified in
// configuration are unreachable"; the sentinels' own answer tells the cases apart.
func checkSentinels(ctx context.Context, o *redis.FailoverOptions, shown string) error {
	var unreachable []string
	var noMaster error
	for _, addr := range o.SentinelAddrs {
		known, err := askSentinel(ctx, o, addr)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, redis.Nil):
			noMaster = fmt.Errorf("redis sentinel at %s knows no master named %q (master_name); it knows %s", addr, o.MasterName, nameList(known))
		default:
			unreachable = append(unreachable, addr)
		}
	}
	if noMaster != nil {
		return noMaster
	}
	return fmt.Errorf("redis sentinel url %s: no sentinel answers (%s)", shown, strings.Join(unreachable, ", "))
}

// askSentinel returns the master's address, or redis.Nil with the names the sentinel knows.
func askSentinel(ctx context.Context, o *redis.FailoverOptions, addr string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second) // leave time to ask the next one
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{
		Addr: addr, Username: o.SentinelUsername, Password: o.SentinelPassword,
		TLSConfig: o.TLSConfig, DialTimeout: o.DialTimeout, MaxRetries: -1,
	})
	defer sc.Close()
	hostPort, err := sc.GetMasterAddrByName(ctx, o.MasterName).Result()
	if err == nil && len(hostPort) == 2 {
		return []string{strings.Join(hostPort, ":")}, nil
	}
	if !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("asking sentinel %s: %w", addr, err)
	}
	masters, _ := sc.Masters(ctx).Result()
	return masterNames(masters), redis.Nil
}

// masterNames picks the "name" of each entry of SENTINEL MASTERS, a map under RESP3 and a flat
// list of fields and values under RESP2.
func masterNames(masters []any) []string {
	var names []string
	for _, m := range masters {
		switch m := m.(type) {
		case map[any]any:
			if n, ok := m["name"].(string); ok {
				names = append(names, n)
			}
		case []any:
			for i := 0; i+1 < len(m); i += 2 {
				if m[i] == "name" {
					if n, ok := m[i+1].(string); ok {
						names = append(names, n)
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names
}

func nameList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return fmt.Sprintf("%q", names)
}
