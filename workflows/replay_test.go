package workflows_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/trailgate/trailgate/internal/testenv"
	"github.com/trailgate/trailgate/workflows"
)

// TestRecordedHistoriesReplay replays histories recorded from real runs
// (TRAILGATE_RECORD_HISTORIES=1 go test -run "Against|SurvivesAWorker|Metrics" ./workflows; keep the
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

var accessKeyPattern = regexp.MustCompile(`\b(AKIA|ASIA)[A-Z0-9]{12,}\b`)

// assertHistoriesHoldNoSecrets reads the history of every workflow the test
// ran and fails when one holds a role ARN, an external ID or an access key.
func assertHistoriesHoldNoSecrets(t *testing.T, env *testenv.Env) {
	t.Helper()
	var secrets []string
	for _, o := range env.Config.Organizations {
		secrets = append(secrets, o.RoleARN, o.ExternalID)
	}
	secrets = append(secrets, env.AccessKeyIDs()...)
	ctx := context.Background()
	resp, err := env.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: env.Config.Temporal.Namespace, PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Executions) == 0 {
		t.Fatal("no workflows to check")
	}
	for _, e := range resp.Executions {
		raw := history(t, env, e.Execution.WorkflowId, e.Execution.RunId)
		// Payloads are base64 in the history's JSON: decode them too, so
		// that the check sees what they hold.
		h := string(raw) + decodedPayloads(raw)
		for _, s := range secrets {
			if s != "" && strings.Contains(h, s) {
				t.Errorf("the history of %s holds %q", e.Execution.WorkflowId, s)
			}
		}
		if k := accessKeyPattern.FindString(h); k != "" {
			t.Errorf("the history of %s holds an access key ID %s", e.Execution.WorkflowId, k)
		}
	}
}

// history is a workflow's history as JSON, as the replayer reads it.
func history(t *testing.T, env *testenv.Env, id, runID string) []byte {
	iter := env.Client.GetWorkflowHistory(context.Background(), id, runID, false, 0)
	var events []json.RawMessage
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, err := protoJSON(ev)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, b)
	}
	out, err := json.MarshalIndent(map[string]any{"events": events}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// recordHistory writes the workflow's history to testdata when
// TRAILGATE_RECORD_HISTORIES is set, for the replay test.
func recordHistory(t *testing.T, env *testenv.Env, id, name string) {
	t.Helper()
	if os.Getenv("TRAILGATE_RECORD_HISTORIES") == "" {
		return
	}
	if err := os.WriteFile(filepath.Join("testdata", "histories", name+".json"), history(t, env, id, ""), 0o644); err != nil {
		t.Fatal(err)
	}
}
