package realtime

import (
	"fmt"
	"time"
)

// DefaultICEServers is what the mains serve when ICE_SERVERS is unset: one public STUN server, enough
// for peers that are not both behind symmetric NATs. Production sets ICE_SERVERS (its own STUN/TURN)
// and TURN_SECRET.
const DefaultICEServers = "stun:stun.l.google.com:19302"

// FromEnv builds the Config from the environment the mains read (getenv is os.Getenv there):
// ICE_SERVERS (ParseICEServers; default DefaultICEServers), TURN_SECRET, TURN_TTL (12h),
// CALL_RING_TIMEOUT (30s), CALL_MAX_DURATION (6h), PRESENCE_MAX_IDS (200), TYPING_MAX_RECIPIENTS
// (1000), DELIVERY_TOPIC (im.delivery). The Redis prefix is the process's (REDIS_PREFIX).
func FromEnv(getenv func(string) string, redisPrefix string) (Config, error) {
	ice := getenv("ICE_SERVERS")
	if ice == "" {
		ice = DefaultICEServers
	}
	servers, err := ParseICEServers(ice)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{RedisPrefix: redisPrefix, Topic: getenv("DELIVERY_TOPIC"), ICEServers: servers,
		TURNSecret: []byte(getenv("TURN_SECRET"))}
	for key, dst := range map[string]*time.Duration{"TURN_TTL": &cfg.TURNTTL, "CALL_RING_TIMEOUT": &cfg.RingTimeout,
		"CALL_MAX_DURATION": &cfg.MaxCallDuration} {
		if v := getenv(key); v != "" {
			if *dst, err = time.ParseDuration(v); err != nil {
				return Config{}, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	for key, dst := range map[string]*int{"PRESENCE_MAX_IDS": &cfg.MaxPresenceIDs, "TYPING_MAX_RECIPIENTS": &cfg.MaxTypingRecipients} {
		if v := getenv(key); v != "" {
			if _, err := fmt.Sscan(v, dst); err != nil {
				return Config{}, fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	return cfg, nil
}
