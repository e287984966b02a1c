package devserver

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/server/common/dynamicconfig"
)

// A database the dev default makes has task queues of one partition; one
// made before keeps Temporal's default, so that no task waiting in another
// partition is stranded, also after it is opened again.
func TestANewDatabaseHasOnePartitionAndAnOlderOneKeepsItsOwn(t *testing.T) {
	db := filepath.Join(t.TempDir(), DatabaseFileName)
	if _, err := prepareDatabase(db, "default", nil); err != nil {
		t.Fatal(err)
	}
	read, write := dynamicconfig.MatchingNumTaskqueueReadPartitions.Key(), dynamicconfig.MatchingNumTaskqueueWritePartitions.Key()
	if dc := dynamicConfig(onePartition(db)); dc[read] != 1 || dc[write] != 1 {
		t.Errorf("a new database's dynamic configuration: %v; want one read and one write partition", dc)
	}
	if err := os.Remove(db + onePartitionMarker); err != nil {
		t.Fatal(err)
	}
	if _, err := prepareDatabase(db, "default", nil); err != nil {
		t.Fatal(err)
	}
	if dc := dynamicConfig(onePartition(db)); dc[read] != nil || dc[write] != nil {
		t.Errorf("an older database's dynamic configuration: %v; want Temporal's default partitions", dc)
	}
}
