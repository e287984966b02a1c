// Package temporalclient connects trailgate's worker and CLI to Temporal as
// configured: address, namespace, TLS or mTLS, an API key, logs through
// slog and, for the worker, SDK metrics for Prometheus.
package temporalclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/trailgate/trailgate/config"
)

// Options builds the SDK's client options from cfg. The logger receives the
// SDK's logs; metrics may be nil.
func Options(cfg config.Temporal, logger *slog.Logger, metrics client.MetricsHandler) (client.Options, error) {
	if logger == nil {
		logger = slog.Default()
	}
	opts := client.Options{
		HostPort:       cfg.Address,
		Namespace:      cfg.Namespace,
		Logger:         sdklog.NewStructuredLogger(logger),
		MetricsHandler: metrics,
	}
	tlsConf, err := TLSConfig(cfg)
	if err != nil {
		return client.Options{}, err
	}
	opts.ConnectionOptions.TLS = tlsConf
	if cfg.Compression == config.CompressionNone {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	if cfg.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.APIKey)
	}
	return opts, nil
}

// TLSConfig is the TLS configuration for the Temporal frontend, or nil for a
// plain connection. TLS is used when any TLS setting or an API key is
// configured: a client certificate (mTLS) from cert_file and key_file, the
// frontend's CA from ca_file (else the system roots), and server_name to
// check the frontend's certificate against.
func TLSConfig(cfg config.Temporal) (*tls.Config, error) {
	t := cfg.TLS
	if t == (config.TLS{}) && cfg.APIKey == "" {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load Temporal client certificate %s and key %s: %w", t.CertFile, t.KeyFile, err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read Temporal CA file %s: %w", t.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read Temporal CA file %s: no PEM certificate in it", t.CAFile)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// Dial connects to the configured Temporal frontend and namespace.
func Dial(ctx context.Context, cfg config.Temporal, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	opts, err := Options(cfg, logger, metrics)
	if err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", cfg.Address, cfg.Namespace, err)
	}
	return c, nil
}
