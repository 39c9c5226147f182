package edge

import (
	"hash/maphash"
	"sync"
)

// numShards spreads the user -> connections map over independent locks, so connects, disconnects
// and deliveries to different users rarely contend (centrifuge uses 64 too).
const numShards = 64

// hub maps user ids to the connections this instance holds. A user it does not hold costs one map
// lookup in one shard.
type hub struct {
	seed   maphash.Seed
	shards [numShards]hubShard
}

type hubShard struct {
	mu    sync.RWMutex
	users map[string][]*conn
}

func newHub() *hub {
	h := &hub{seed: maphash.MakeSeed()}
	for i := range h.shards {
		h.shards[i].users = map[string][]*conn{}
	}
	return h
}

func (h *hub) shard(userID string) *hubShard {
	return &h.shards[maphash.String(h.seed, userID)%numShards]
}

func (h *hub) add(c *conn) {
	s := h.shard(c.userID)
	s.mu.Lock()
	s.users[c.userID] = append(s.users[c.userID], c)
	s.mu.Unlock()
}

func (h *hub) remove(c *conn) {
	s := h.shard(c.userID)
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.users[c.userID]
	for i, x := range cs {
		if x == c {
			cs[i] = cs[len(cs)-1]
			cs[len(cs)-1] = nil
			cs = cs[:len(cs)-1]
			break
		}
	}
	if len(cs) == 0 {
		delete(s.users, c.userID)
	} else {
		s.users[c.userID] = cs
	}
}

// each calls fn for every connection of userID under the shard's read lock; fn must not block
// (enqueue and closeWith do not).
func (h *hub) each(userID string, fn func(*conn)) {
	s := h.shard(userID)
	s.mu.RLock()
	for _, c := range s.users[userID] {
		fn(c)
	}
	s.mu.RUnlock()
}

// all returns a snapshot of every connection.
func (h *hub) all() []*conn {
	var out []*conn
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.RLock()
		for _, cs := range s.users {
			out = append(out, cs...)
		}
		s.mu.RUnlock()
	}
	return out
}
