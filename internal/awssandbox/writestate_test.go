package awssandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
)

// The state streamed to its file one map entry at a time is, byte for
// byte, what encoding/json makes of it whole, so that a sandbox loads it
// as before and a saved file reads the same.
func TestTheStreamedStateIsTheStateEncodedWhole(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DevDefaultOf(5); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Dev = nil // one field that is omitted when empty; DevDefault sets it
	for _, dev := range []bool{false, true} {
		if dev {
			s.st.Dev = &DevLayout{OperatorAccountID: "111111111111"}
		}
		var whole bytes.Buffer
		if err := json.NewEncoder(&whole).Encode(s.st); err != nil {
			t.Fatal(err)
		}
		var streamed bytes.Buffer
		w := bufio.NewWriterSize(&streamed, 16)
		if err := writeState(w, s.st); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(streamed.Bytes(), whole.Bytes()) {
			t.Fatalf("with the dev layout %v, the streamed state (%d bytes) differs from the state encoded whole (%d bytes)", dev, streamed.Len(), whole.Len())
		}
		if len(s.st.Organizations) < 5 || !bytes.Contains(streamed.Bytes(), []byte(`"organizations":{"`)) {
			t.Fatalf("the state holds %d organizations; a test of nothing proves nothing", len(s.st.Organizations))
		}
	}
}
