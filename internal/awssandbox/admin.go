package awssandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// serveAdmin serves the paths under adminPrefix, the sandbox's own (see the
// package documentation).
func (s *Sandbox) serveAdmin(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, adminPrefix) {
	case "health":
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok\n")
	case "faults":
		s.serveFaults(w, r)
	default:
		http.NotFound(w, r)
	}
}

// faultSchedule is the admin endpoint's body.
type faultSchedule struct {
	Seed   *int64  `json:"seed,omitempty"`
	Faults []Fault `json:"faults"`
}

// PutFaults replaces the fault schedule of the sandbox served at endpoint,
// through its admin endpoint, and reseeds its fault RNG with seed: how a
// sandbox in another process is made to fail.
func PutFaults(ctx context.Context, endpoint string, seed int64, faults []Fault) error {
	body, err := json.Marshal(faultSchedule{Seed: &seed, Faults: faults})
	if err != nil {
		return fmt.Errorf("encode the sandbox's fault schedule: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, endpoint+adminPrefix+"faults", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("%s: %s", resp.Status, msg)
	}
	return nil
}

func (s *Sandbox) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read fault schedule: "+err.Error(), http.StatusBadRequest)
			return
		}
		var in faultSchedule
		if err := json.Unmarshal(data, &in); err != nil {
			http.Error(w, "decode fault schedule: "+err.Error(), http.StatusBadRequest)
			return
		}
		for i, f := range in.Faults {
			if err := f.validate(); err != nil {
				http.Error(w, fmt.Sprintf("fault %d: %v", i, err), http.StatusBadRequest)
				return
			}
		}
		if in.Seed != nil {
			s.SetFaultSeed(*in.Seed)
		}
		s.SetFaults(in.Faults)
	case http.MethodDelete:
		s.SetFaults(nil)
	default:
		w.Header().Set("Allow", "GET, PUT, POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s.fmu.Lock()
	seed := s.seed
	out := faultSchedule{Seed: &seed, Faults: append([]Fault{}, s.faults...)}
	s.fmu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
