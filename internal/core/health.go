package core

import (
	"gatehouse/internal/store"
)

// Health is what a node says of itself at /healthz (for load balancers and
// operators; no secret, no data): which engine holds the database, whether
// it answers (on a cluster: whether etcd has a quorum and this node's copy
// keeps up), and whether this node runs the elected jobs — sends the mail,
// prunes, sweeps.
type Health struct {
	Engine    string `json:"engine"`
	StoreOK   bool   `json:"storeOk"`
	Problem   string `json:"problem,omitempty"`
	SendsMail bool   `json:"sendsMail"`
}

// Health reads one transaction's worth of the store to say whether it
// answers.
func (s *Service) Health() Health {
	h := Health{Engine: s.db.Engine(), SendsMail: s.db.Leading()}
	err := s.db.View(func(tx *store.Tx) error { return nil })
	h.StoreOK = err == nil
	if err != nil {
		h.Problem = AsError(err).Message
	}
	return h
}
