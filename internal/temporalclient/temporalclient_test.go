package temporalclient_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/trailgate/trailgate/config"
	"github.com/trailgate/trailgate/internal/temporalclient"
)

// pki is a throwaway certificate authority with a frontend (server) and a
// worker (client) certificate, written as PEM files.
type pki struct {
	caFile, serverCert, serverKey, clientCert, clientKey string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "trailgate test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	p := pki{caFile: filepath.Join(dir, "ca.pem")}
	writePEM(t, p.caFile, "CERTIFICATE", caDER)

	issue := func(name string, serial int64, usage x509.ExtKeyUsage, dns []string) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			DNSNames:     dns,
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalECPrivateKey(key)
		certFile, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		writePEM(t, certFile, "CERTIFICATE", der)
		writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)
		return certFile, keyFile
	}
	p.serverCert, p.serverKey = issue("frontend", 2, x509.ExtKeyUsageServerAuth, []string{"temporal.example"})
	p.clientCert, p.clientKey = issue("worker", 3, x509.ExtKeyUsageClientAuth, nil)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// frontend listens with mTLS like a Temporal frontend that requires client
// certificates from the test CA, and reports each handshake's outcome.
func frontend(t *testing.T, p pki) (string, <-chan error) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(p.caFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	results := make(chan error, 4)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			results <- conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	return l.Addr().String(), results
}

func handshake(addr string, conf *tls.Config) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, conf)
	if err != nil {
		return err
	}
	defer conn.Close()
	// TLS 1.3 reports a rejected client certificate on the first read.
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	if err == io.EOF {
		return nil
	}
	return err
}

func TestPlainConnectionHasNoTLS(t *testing.T) {
	opts, err := temporalclient.Options(config.Default().Temporal, slog.Default(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.ConnectionOptions.TLS != nil || opts.Credentials != nil {
		t.Fatalf("default configuration uses TLS %v, credentials %v; want a plain connection", opts.ConnectionOptions.TLS, opts.Credentials)
	}
	if opts.HostPort != "127.0.0.1:7233" || opts.Namespace != "default" || opts.Logger == nil {
		t.Fatalf("options %+v do not carry the configured address, namespace and logger", opts)
	}
}

// Calls to Temporal are compressed by default, as the SDK does, and not
// when temporal.compression says none.
func TestCompressionIsTheConfigurations(t *testing.T) {
	cfg := config.Default().Temporal
	opts, err := temporalclient.Options(cfg, slog.Default(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.ConnectionOptions.GrpcCompression != nil {
		t.Errorf("by default the SDK is given compression %#v, not its own default (gzip)", opts.ConnectionOptions.GrpcCompression)
	}
	cfg.Compression = config.CompressionNone
	if opts, _ = temporalclient.Options(cfg, slog.Default(), nil); opts.ConnectionOptions.GrpcCompression == nil {
		t.Error("temporal.compression none leaves the SDK compressing")
	} else if _, none := opts.ConnectionOptions.GrpcCompression.(*client.GrpcCompressionNone); !none {
		t.Errorf("temporal.compression none gives the SDK %#v", opts.ConnectionOptions.GrpcCompression)
	}
}

func TestMutualTLSReachesFrontend(t *testing.T) {
	p := newPKI(t)
	addr, results := frontend(t, p)
	cfg := config.Temporal{
		Address:   addr,
		Namespace: "trailgate",
		TLS: config.TLS{
			CertFile:   p.clientCert,
			KeyFile:    p.clientKey,
			CAFile:     p.caFile,
			ServerName: "temporal.example",
		},
	}
	opts, err := temporalclient.Options(cfg, nil, nil)
	if err != nil {
		t.Fatalf("build options for mTLS: %v", err)
	}
	if err := handshake(addr, opts.ConnectionOptions.TLS); err != nil {
		t.Fatalf("mTLS handshake with the frontend: %v", err)
	}
	if err := <-results; err != nil {
		t.Fatalf("frontend refused the worker's certificate: %v", err)
	}

	// Without the client certificate, the same frontend refuses.
	cfg.TLS.CertFile, cfg.TLS.KeyFile = "", ""
	conf, err := temporalclient.TLSConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = handshake(addr, conf)
	if err := <-results; err == nil {
		t.Fatal("frontend accepted a connection without a client certificate")
	}

	// A wrong server name is caught by the client.
	cfg.TLS.ServerName = "elsewhere.example"
	conf, _ = temporalclient.TLSConfig(cfg)
	if err := handshake(addr, conf); err == nil || !strings.Contains(err.Error(), "elsewhere.example") {
		t.Fatalf("handshake with the wrong server name: got %v, want a certificate name error", err)
	}
}

func TestAPIKeyImpliesTLS(t *testing.T) {
	opts, err := temporalclient.Options(config.Temporal{
		Address:   "trailgate.a1b2c.tmprl.cloud:7233",
		Namespace: "trailgate.a1b2c",
		APIKey:    "secret",
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.ConnectionOptions.TLS == nil {
		t.Fatal("an API key without TLS would send the key in clear")
	}
	if opts.Credentials == nil {
		t.Fatal("the API key is not passed to the SDK")
	}
}

func TestTLSFileProblemsNameTheFile(t *testing.T) {
	p := newPKI(t)
	garbage := filepath.Join(t.TempDir(), "not-a-ca.pem")
	os.WriteFile(garbage, []byte("hello"), 0o600)
	for name, tc := range map[string]struct {
		tls  config.TLS
		want string
	}{
		"missing cert":   {config.TLS{CertFile: "/nonexistent/worker.pem", KeyFile: p.clientKey}, "/nonexistent/worker.pem"},
		"mismatched key": {config.TLS{CertFile: p.clientCert, KeyFile: p.serverKey}, p.clientCert},
		"missing CA":     {config.TLS{CAFile: "/nonexistent/ca.pem"}, "/nonexistent/ca.pem"},
		"CA not PEM":     {config.TLS{CAFile: garbage}, "no PEM certificate"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := temporalclient.Options(config.Temporal{Address: "127.0.0.1:7233", Namespace: "default", TLS: tc.tls}, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}
