package awssandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
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

	// out is the writer's: one writer runs at a time.
	out bufio.Writer
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
		tmp, err := s.stage(&sv.out)
		s.mu.Unlock()
		next = began.Add(time.Duration(float64(time.Since(began)) / savingShare))
		if err == nil {
			err = s.install(v, tmp)
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

// save writes the state as of version v; the caller holds s.mu.
func (s *Sandbox) save(v uint64) error {
	var out bufio.Writer
	tmp, err := s.stage(&out)
	if err != nil {
		return err
	}
	return s.install(v, tmp)
}

// stage writes the state to a new temporary file beside the state file,
// through out, and returns the file, open and not yet synced; the caller
// holds s.mu. The state streams to the file one map entry at a time: a
// state of thousands of organizations is megabytes, and encoding it whole
// held two or three copies of it in memory (the encoder's pooled buffer,
// grown by doubling, and the writer's), the largest part of the dev
// default's heap at 1,000 organizations.
func (s *Sandbox) stage(out *bufio.Writer) (*os.File, error) {
	tmp, err := createBeside(s.opts.StateFile)
	if err != nil {
		return nil, err
	}
	if out.Size() == 0 {
		*out = *bufio.NewWriterSize(tmp, 256<<10)
	} else {
		out.Reset(tmp)
	}
	if err = writeState(out, s.st); err == nil {
		err = out.Flush()
	}
	out.Reset(nil)
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("save sandbox state to %s: %w", tmp.Name(), err)
	}
	return tmp, nil
}

// install puts the staged state as of version v in the state file's place,
// unless the file already holds a newer one.
func (s *Sandbox) install(v uint64, tmp *os.File) error {
	sv := &s.saving
	sv.file.Lock()
	defer sv.file.Unlock()
	if v <= sv.written {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil
	}
	if err := replaceWith(tmp, s.opts.StateFile); err != nil {
		return err
	}
	sv.written = v
	return nil
}

// writeState writes st as encoding/json encodes it, but each map of the
// state one entry at a time, so that no encoding of the whole state is
// ever held in memory.
func writeState(w *bufio.Writer, st *state) error {
	e := newEntryWriter(w)
	v := reflect.ValueOf(st).Elem()
	t := v.Type()
	w.WriteByte('{')
	first := true
	for i := range t.NumField() {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		f := v.Field(i)
		if opts == "omitempty" && f.IsZero() {
			continue
		}
		if !first {
			w.WriteByte(',')
		}
		first = false
		if err := e.write(name); err != nil {
			return err
		}
		w.WriteByte(':')
		if f.Kind() != reflect.Map || f.IsNil() {
			if err := e.write(f.Interface()); err != nil {
				return err
			}
			continue
		}
		keys := f.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		w.WriteByte('{')
		for j, k := range keys {
			if j > 0 {
				w.WriteByte(',')
			}
			if err := e.write(k.String()); err != nil {
				return err
			}
			w.WriteByte(':')
			if err := e.write(f.MapIndex(k).Interface()); err != nil {
				return err
			}
		}
		w.WriteByte('}')
	}
	_, err := w.WriteString("}\n")
	return err
}

// entryWriter writes values as JSON through one scratch buffer: a save
// encodes thousands of entries, and json.Marshal's copy of each made the
// saves a seventh of all the dev default allocated.
type entryWriter struct {
	w       *bufio.Writer
	scratch bytes.Buffer
	enc     *json.Encoder
}

func newEntryWriter(w *bufio.Writer) *entryWriter {
	e := &entryWriter{w: w}
	e.enc = json.NewEncoder(&e.scratch)
	return e
}

func (e *entryWriter) write(v any) error {
	e.scratch.Reset()
	if err := e.enc.Encode(v); err != nil {
		return err
	}
	// Encode ends each value with a newline, which the whole state's
	// encoding has only at its end.
	_, err := e.w.Write(bytes.TrimSuffix(e.scratch.Bytes(), []byte("\n")))
	return err
}
