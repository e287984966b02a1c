package workflows_test

import (
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/trailgate/trailgate/workflows"
)

// TestRecordedHistoriesReplay replays histories recorded from real runs
// (TRAILGATE_RECORD_HISTORIES=1 go test -run "Against|SurvivesAWorker" ./workflows; keep the
// files of earlier workflow versions, and add new ones beside them): a change
// to the workflows that would break running workflows fails here.
func TestRecordedHistoriesReplay(t *testing.T) {
	files, err := recordedHistories()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata/histories")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := newReplayer().ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// recordedHistories are the files of the histories recorded from real runs.
func recordedHistories() ([]string, error) {
	return filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
}

// newReplayer replays histories with every workflow registered, as a worker
// would.
func newReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	workflows.Register(r)
	return r
}

func protoJSON(m proto.Message) (json.RawMessage, error) {
	return protojson.Marshal(m)
}

// decodedPayloads is every payload's data in a history's JSON, decoded from
// base64, one a line.
func decodedPayloads(historyJSON []byte) string {
	var out strings.Builder
	for _, m := range payloadData.FindAllSubmatch(historyJSON, -1) {
		if b, err := base64.StdEncoding.DecodeString(string(m[1])); err == nil {
			out.Write(b)
			out.WriteByte('\n')
		}
	}
	return out.String()
}

var payloadData = regexp.MustCompile(`"data":\s*"([A-Za-z0-9+/=]+)"`)
