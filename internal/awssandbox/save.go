package awssandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// The sandbox saves its whole state to one file, which takes long when it
// holds thousands of organizations. A request that changed the state is
// answered only once a save holds its change, as AWS answers only what it
// has stored, but requests do not each save: one writer saves at a time,
// and each save holds every change made before it began (group commit).
// A sandbox killed at any point loses no change it has answered.

// saver is the state of the sandbox's saves. version counts changes to
// the state and is guarded by Sandbox.mu; the rest by saver.mu.
type saver struct {
	mu      sync.Mutex
	cond    *sync.Cond
	wanted  uint64 // the newest version a request waits to see saved
	saved   uint64 // the newest version the writer saved, or tried to
	err     error  // what the writer's last save returned
	running bool   // a writer is saving

	// file serializes writes to the state file; written is the version
	// the file holds, so that an older snapshot never replaces a newer.
	file    sync.Mutex
	written uint64

	// buf is the writer's: one writer runs at a time.
	buf bytes.Buffer
}

// commit saves the state now, when a mutation made it dirty; the caller
// holds s.mu. It serves setup calls; requests use commitLater.
func (s *Sandbox) commit() error {
	if !s.dirty {
		return nil
	}
	s.dirty = false
	s.version++
	if s.opts.StateFile == "" {
		return nil
	}
	if err := s.save(s.version); err != nil {
		s.log.Error("aws sandbox: save state", "err", err)
		return err
	}
	return nil
}

// commitLater asks for the state to be saved, when a mutation made it
// dirty, and returns what waits for that save; the caller holds s.mu and
// waits after releasing it.
func (s *Sandbox) commitLater() func() error {
	if !s.dirty {
		return func() error { return nil }
	}
	s.dirty = false
	s.version++
	if s.opts.StateFile == "" {
		return func() error { return nil }
	}
	v := s.version
	return func() error { return s.awaitSave(v) }
}

// awaitSave waits until a save holds version v, starting the writer when
// none runs.
func (s *Sandbox) awaitSave(v uint64) error {
	sv := &s.saving
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.cond == nil {
		sv.cond = sync.NewCond(&sv.mu)
	}
	if v > sv.wanted {
		sv.wanted = v
	}
	if !sv.running {
		sv.running = true
		go s.writer()
	}
	for sv.saved < v {
		sv.cond.Wait()
	}
	return sv.err
}

// savingShare is the most of its time the writer spends encoding: after
// an encoding that took d, the next begins no sooner than d/savingShare
// after it. A state of thousands of organizations takes tens of
// milliseconds to encode; saved back to back, it kept a core busy and its
// garbage swelled the process. At 0.1 the saves of a 1,000-organization
// change took a tenth of the dev default's CPU; at 0.05 the change used 10%
// less CPU (190 s, not 211 s) in the same wall time, each save holding more
// changes.
const savingShare = 0.05

// writer saves the state until no request waits for a newer save.
func (s *Sandbox) writer() {
	sv := &s.saving
	var next time.Time
	for {
		sv.mu.Lock()
		if sv.saved >= sv.wanted {
			sv.running = false
			sv.mu.Unlock()
			return
		}
		sv.mu.Unlock()

		// Requests arriving meanwhile join this save.
		time.Sleep(time.Until(next))
		began := time.Now()
		s.mu.Lock()
		v := s.version
		data, err := s.encode(&sv.buf)
		s.mu.Unlock()
		next = began.Add(time.Duration(float64(time.Since(began)) / savingShare))
		if err == nil {
			err = s.write(v, data)
		}
		if err != nil {
			s.log.Error("aws sandbox: save state", "err", err)
		}

		sv.mu.Lock()
		sv.saved, sv.err = v, err
		sv.cond.Broadcast()
		sv.mu.Unlock()
	}
}

// save encodes the state as of version v and writes it; the caller holds
// s.mu.
func (s *Sandbox) save(v uint64) error {
	var buf bytes.Buffer
	data, err := s.encode(&buf)
	if err != nil {
		return err
	}
	return s.write(v, data)
}

// encode is the state as saved, in buf; the caller holds s.mu. The
// writer encodes into a buffer of its own, again and again: a state of
// thousands of organizations is megabytes, and json.Marshal kept several
// copies of it (its pool's buffer, grown by doubling, and the copy it
// returns).
func (s *Sandbox) encode(buf *bytes.Buffer) ([]byte, error) {
	buf.Reset()
	if err := json.NewEncoder(buf).Encode(s.st); err != nil {
		return nil, fmt.Errorf("encode sandbox state: %w", err)
	}
	return buf.Bytes(), nil
}

// write writes the state as of version v, unless the file already holds a
// newer one.
func (s *Sandbox) write(v uint64, data []byte) error {
	sv := &s.saving
	sv.file.Lock()
	defer sv.file.Unlock()
	if v <= sv.written {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.opts.StateFile), 0o700); err != nil {
		return fmt.Errorf("create sandbox state directory %s: %w", filepath.Dir(s.opts.StateFile), err)
	}
	if err := writeFileAtomic(s.opts.StateFile, data); err != nil {
		return err
	}
	sv.written = v
	return nil
}
