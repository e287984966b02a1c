package awssandbox

import (
	"testing"
	"time"
)

// Temporary keys that expired a day ago are forgotten, looking at most
// once an hour: the first AssumeRole looks, the next within the hour does
// not, the next after it does.
func TestKeysExpiredADayAgoAreForgottenHourly(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	expired := func(id string) {
		s.st.Keys[id] = &accessKey{AccessKeyID: id, SessionToken: "token", Expiration: now.Add(-25 * time.Hour)}
	}
	kept := func(id string) bool { _, ok := s.st.Keys[id]; return ok }
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Keys["AKIALONGLIVED"] = &accessKey{AccessKeyID: "AKIALONGLIVED"}

	expired("ASIAFIRST")
	s.pruneExpiredKeysLocked(now)
	if kept("ASIAFIRST") || !kept("AKIALONGLIVED") {
		t.Fatalf("the first look kept the expired key (%v) or dropped the long-lived one (%v)", kept("ASIAFIRST"), !kept("AKIALONGLIVED"))
	}
	expired("ASIASECOND")
	s.pruneExpiredKeysLocked(now.Add(59 * time.Minute))
	if !kept("ASIASECOND") {
		t.Fatal("a look within the hour went through the keys")
	}
	s.pruneExpiredKeysLocked(now.Add(61 * time.Minute))
	if kept("ASIASECOND") {
		t.Fatal("the look after the hour kept a key that expired a day ago")
	}
}
