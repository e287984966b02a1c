package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/uber-go/tally/v4"
	promreporter "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// MetricsPath is where the Prometheus endpoint serves the SDK's metrics.
const MetricsPath = "/metrics"

// Metrics serves the Temporal SDK's metrics (workers, pollers, activities,
// workflow tasks) for Prometheus to scrape.
type Metrics struct {
	// Handler is given to the SDK client (client.Options.MetricsHandler).
	Handler client.MetricsHandler
	// Address is where the endpoint listens, host:port.
	Address string

	scope  io.Closer
	server *http.Server
	done   chan struct{}
}

// ServeMetrics listens on address and serves the SDK's metrics at
// MetricsPath. It fails at once when the address cannot be listened on.
func ServeMetrics(address string, logger *slog.Logger) (*Metrics, error) {
	if logger == nil {
		logger = slog.Default()
	}
	l, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("listen for Prometheus metrics on %s (metrics.address): %w", address, err)
	}
	registry := prom.NewRegistry()
	reporter := promreporter.NewReporter(promreporter.Options{
		Registerer:       registry,
		DefaultTimerType: promreporter.HistogramTimerType,
		OnRegisterError: func(err error) {
			logger.Warn("register a Temporal SDK metric for Prometheus", "error", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:         reporter,
		Separator:              promreporter.DefaultSeparator,
		SanitizeOptions:        &sdktally.PrometheusSanitizeOptions,
		OmitCardinalityMetrics: true,
	}, time.Second)

	mux := http.NewServeMux()
	mux.Handle(MetricsPath, reporter.HTTPHandler())
	m := &Metrics{
		Handler: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)),
		Address: l.Addr().String(),
		scope:   closer,
		server:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done:    make(chan struct{}),
	}
	go func() {
		defer close(m.done)
		if err := m.server.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("Prometheus metrics endpoint stopped", "address", m.Address, "error", err)
		}
	}()
	return m, nil
}

// Close stops the endpoint and the metrics scope.
func (m *Metrics) Close(ctx context.Context) error {
	err := m.server.Shutdown(ctx)
	<-m.done
	return errors.Join(err, m.scope.Close())
}
