package temporalclient_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trailgate/trailgate/internal/temporalclient"
)

func TestMetricsServedForPrometheus(t *testing.T) {
	m, err := temporalclient.ServeMetrics("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())

	m.Handler.WithTags(map[string]string{"task_queue": "trailgate"}).Counter("temporal_request").Inc(3)
	url := "http://" + m.Address + temporalclient.MetricsPath
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("scrape %s: %v", url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `temporal_request_total{task_queue="trailgate"} 3`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("scrape %s: the SDK counter never appeared:\n%s", url, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestMetricsAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = temporalclient.ServeMetrics(l.Addr().String(), nil)
	if err == nil || !strings.Contains(err.Error(), "metrics.address") {
		t.Fatalf("got %v, want an error naming metrics.address", err)
	}
}
