// Package devserver runs Temporal's own server and the Temporal UI inside a
// trailgate process: the embedded default of trailgate-worker --dev. State
// lives in a SQLite file under the data directory, so workflows survive a
// restart; the namespace and trailgate's search attributes are created on
// the first start and checked on every later one.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/cluster"
	serverconfig "go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// DatabaseFileName is the name of the SQLite file, inside the data
// directory, that holds all of the embedded server's state.
const DatabaseFileName = "temporal.db"

const (
	clusterName = "active"
	storeName   = "sqlite"
	// clusterID is fixed so that every start of one data directory is the
	// same cluster.
	clusterID = "5c1e7a4e-9b0d-4f3a-8d2e-7a11c0de7a11"
)

// Options configures the embedded Temporal server and UI.
type Options struct {
	// DataDir holds the SQLite database (DataDir/temporal.db). It is
	// created when missing. Required.
	DataDir string
	// Host is the address every listener binds to; 127.0.0.1 when empty.
	Host string
	// FrontendPort is the Temporal frontend's gRPC port. Required.
	FrontendPort int
	// UIPort is the Temporal UI's HTTP port; 0 runs no UI.
	UIPort int
	// Namespace is created when missing. Required.
	Namespace string
	// SearchAttributes are the custom search attributes the namespace must
	// have, by name and type; missing ones are registered.
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's logs; slog.Default() when nil.
	Logger *slog.Logger
	// ServerLogLevel is the least severe server log passed on; warnings and
	// errors only when nil.
	ServerLogLevel slog.Leveler
}

// Server is a running embedded Temporal server, with its UI when asked.
type Server struct {
	server       temporal.Server
	ui           *uiserver.Server
	uiDone       chan struct{}
	frontendAddr string
	uiURL        string
	dbFile       string
	logLevel     *slog.LevelVar
}

// Start checks that the ports are free, prepares the database (schema on
// the first start only), starts the Temporal server and the UI, and makes
// sure the namespace has every search attribute of opts. It returns once a
// client can reach the frontend and the UI answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	ports := []Port{{Number: opts.FrontendPort, Purpose: "Temporal frontend"}}
	if opts.UIPort != 0 {
		ports = append(ports, Port{Number: opts.UIPort, Purpose: "Temporal UI"})
	}
	if err := CheckPorts(opts.Host, ports...); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", opts.DataDir, err)
	}
	dbFile := filepath.Join(opts.DataDir, DatabaseFileName)
	sqlConf, err := prepareDatabase(dbFile, opts.Namespace, opts.SearchAttributes)
	if err != nil {
		return nil, err
	}
	one := onePartition(dbFile)
	frontendAddr := hostPort(opts.Host, opts.FrontendPort)
	logLevel := new(slog.LevelVar)
	logLevel.Set(opts.ServerLogLevel.Level())
	var server temporal.Server
	for attempt := 1; ; attempt++ {
		// The ports of the server's own services are free when chosen, but
		// another process may take one before the server binds it: then the
		// server is started again on others.
		server, err = opts.startServer(sqlConf, logLevel, one)
		var fatal serverFatal
		if err == nil || !errors.As(err, &fatal) || attempt == startAttempts {
			break
		}
		opts.Logger.Warn("the embedded Temporal server could not start; trying other ports", "attempt", attempt, "err", err)
	}
	if err != nil {
		return nil, fmt.Errorf("start Temporal server on %s: %w", frontendAddr, err)
	}
	s := &Server{server: server, frontendAddr: frontendAddr, dbFile: dbFile, logLevel: logLevel}

	if opts.UIPort != 0 {
		if err := s.startUI(ctx, opts); err != nil {
			_ = s.Stop()
			return nil, err
		}
	}
	if err := ensureSearchAttributes(ctx, frontendAddr, opts.Namespace, opts.SearchAttributes, opts.Logger); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// FrontendAddress is the host:port of the Temporal frontend.
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// UIURL is the base URL of the Temporal UI, or empty when no UI runs.
func (s *Server) UIURL() string { return s.uiURL }

// DatabaseFile is the path of the SQLite file holding the server's state.
func (s *Server) DatabaseFile() string { return s.dbFile }

// Stop stops the UI and the Temporal server. State stays in the database.
func (s *Server) Stop() error {
	if s.ui != nil {
		s.ui.Stop()
		<-s.uiDone
		s.ui = nil
	}
	if s.server == nil {
		return nil
	}
	// While stopping, the server's own workers lose the frontend they poll
	// and warn about it; only errors are worth showing then.
	s.logLevel.Set(max(s.logLevel.Level(), slog.LevelError))
	err := s.server.Stop()
	s.server = nil
	if err != nil {
		return fmt.Errorf("stop Temporal server on %s: %w", s.frontendAddr, err)
	}
	return nil
}

func (o *Options) validate() error {
	var errs []error
	if o.DataDir == "" {
		errs = append(errs, errors.New("data directory is required"))
	}
	if o.FrontendPort == 0 {
		errs = append(errs, errors.New("frontend port is required"))
	}
	if o.Namespace == "" {
		errs = append(errs, errors.New("namespace is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("embedded Temporal server options: %w", err)
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ServerLogLevel == nil {
		o.ServerLogLevel = slog.LevelWarn
	}
	return nil
}

// prepareDatabase sets the schema up on the first start only, then creates
// the namespace when it is missing. A database that exists is never set up
// again: it holds the workflows of earlier runs.
func prepareDatabase(dbFile, namespace string, attrs map[string]enumspb.IndexedValueType) (*serverconfig.SQL, error) {
	conf := sqlConfig(dbFile)
	if _, err := os.Stat(dbFile); errors.Is(err, os.ErrNotExist) {
		// The schema goes into a fresh file that is renamed into place only
		// when complete, so that an interrupted first start cannot leave a
		// half-made database that later starts would trust.
		fresh := dbFile + ".new"
		_ = os.Remove(fresh)
		if err := os.WriteFile(dbFile+onePartitionMarker, nil, 0o644); err != nil {
			return nil, fmt.Errorf("mark new Temporal database %s: %w", dbFile, err)
		}
		if err := sqliteschema.SetupSchema(setupConfig(fresh)); err != nil {
			_ = os.Remove(fresh)
			return nil, fmt.Errorf("set up Temporal schema in %s: %w", fresh, err)
		}
		if err := os.Rename(fresh, dbFile); err != nil {
			return nil, fmt.Errorf("move new Temporal database into place at %s: %w", dbFile, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("look for Temporal database %s: %w", dbFile, err)
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, attrs)
	if err != nil {
		return nil, fmt.Errorf("describe namespace %s: %w", namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("create namespace %s in %s: %w", namespace, dbFile, err)
	}
	return conf, nil
}

// sqliteConns is how many connections the server keeps to its database,
// shared by every service and by visibility: one. Four, so that readers
// need not wait for the writer in write-ahead-log mode, made a change of
// 1,000 organizations slower (191 s, not 130 s; 235 CPU seconds, not 193):
// the server's transactions met SQLITE_BUSY and were retried.
const sqliteConns = 1

// dynamicConfig is the server's dynamic configuration, with one partition
// a task queue when onePartition.
func dynamicConfig(onePartition bool) dynamicconfig.StaticClient {
	dc := dynamicconfig.StaticClient{
		// A single-host server serves one person's UI: let it list freely.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// The history events a change's workflows refer back to (each
		// organization's start, its activities) are read from this
		// cache, or else from SQLite. Temporal's 512 KB default held a
		// few hundred: a change of 1,000 organizations read its own
		// history back for every organization it started, and took
		// 60 s, not 27 s, to reach its gate.
		dynamicconfig.EventsCacheMaxSizeBytes.Key(): eventsCacheBytes,
	}
	maps.Copy(dc, partitions(onePartition))
	return dc
}

// partitions is how many partitions each task queue has: one, in a
// database made with the marker onePartition looks for (one), and
// Temporal's default otherwise. One worker polls one server here: four partitions
// only forwarded tasks and polls between them, and a change of 1,000
// organizations took 54 s, not 67 s, in one. A database made before keeps
// four: tasks waiting in the other three would never be polled again.
func partitions(one bool) dynamicconfig.StaticClient {
	if !one {
		return nil
	}
	return dynamicconfig.StaticClient{
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
	}
}

// onePartitionMarker, next to the database, says that its task queues have
// had one partition from the start.
const onePartitionMarker = ".one-partition"

// onePartition says whether the database's task queues have one partition.
func onePartition(dbFile string) bool {
	_, err := os.Stat(dbFile + onePartitionMarker)
	return err == nil
}

// eventsCacheBytes is the size of the history service's events cache.
const eventsCacheBytes = 64 << 20

// internalPort picks a port for one of the server's own services.
var internalPort = FreePort

// startAttempts is how many times Start starts the server before it gives
// up on fatal errors.
const startAttempts = 3

// startServer builds and starts the server, its own services on ports
// chosen now. What the server calls fatal (see serverLog.Fatal) comes back
// as an error, after what did start is stopped.
func (o *Options) startServer(sqlConf *serverconfig.SQL, logLevel *slog.LevelVar, onePartition bool) (server temporal.Server, err error) {
	serverConf, err := o.serverConfig(sqlConf)
	if err != nil {
		return nil, err
	}
	defer func() {
		fatal, ok := recover().(serverFatal)
		if !ok {
			return
		}
		if server != nil {
			func() {
				defer func() { _ = recover() }()
				_ = server.Stop()
			}()
		}
		server, err = nil, fatal
	}()
	server, err = temporal.NewServer(
		temporal.WithConfig(serverConf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(staticHosts(serverConf)),
		temporal.WithLogger(serverLog{logger: o.Logger, level: logLevel}),
		temporal.WithDynamicConfigClient(dynamicConfig(onePartition)),
	)
	if err != nil {
		return nil, fmt.Errorf("build Temporal server: %w", err)
	}
	if err := server.Start(); err != nil {
		return nil, err
	}
	return server, nil
}

// sqlConfig is how the server opens the database: in write-ahead-log mode,
// where a commit appends to the log and only a checkpoint rewrites the
// database, with synchronous=NORMAL, which syncs the log at checkpoints
// rather than at every commit. A process killed at any point loses nothing
// committed; only a crash of the machine itself may lose the last commits.
// busy_timeout lets the server's connections wait for each other instead
// of failing, and sqliteConns of them share the database.
func sqlConfig(dbFile string) *serverconfig.SQL {
	return &serverconfig.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: dbFile,
		MaxConns:     sqliteConns,
		MaxIdleConns: sqliteConns,
		ConnectAttributes: map[string]string{
			"mode":         "rwc",
			"journal_mode": "wal",
			"synchronous":  "normal",
			"busy_timeout": "10000",
		},
	}
}

// setupConfig is how the schema is written into a fresh file, which is then
// renamed into place: with a rollback journal, so that everything is in the
// file itself and nothing in a log that the rename would leave behind.
func setupConfig(dbFile string) *serverconfig.SQL {
	return &serverconfig.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      dbFile,
		ConnectAttributes: map[string]string{"mode": "rwc"},
	}
}

// ownPort picks a port for one of the server's own services, never one
// of the ports the options name: chosen free before the server starts,
// they are not bound yet, and the UI, started last, found its port taken
// by one of the server's services.
func (o *Options) ownPort() (int, error) {
	for {
		port, err := internalPort(o.Host)
		if err != nil || (port != o.FrontendPort && port != o.UIPort) {
			return port, err
		}
	}
}

func (o *Options) serverConfig(sqlConf *serverconfig.SQL) (*serverconfig.Config, error) {
	httpPort, err := o.ownPort()
	if err != nil {
		return nil, err
	}
	services := map[string]serverconfig.Service{}
	for _, name := range temporal.DefaultServices {
		var svc serverconfig.Service
		svc.RPC.BindOnIP = o.Host
		if name == string(primitives.FrontendService) {
			svc.RPC.GRPCPort = o.FrontendPort
			svc.RPC.HTTPPort = httpPort
		} else if svc.RPC.GRPCPort, err = o.ownPort(); err != nil {
			return nil, err
		}
		services[name] = svc
	}

	var conf serverconfig.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = o.Host
	conf.Persistence.DefaultStore = storeName
	conf.Persistence.VisibilityStore = storeName
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]serverconfig.DataStore{storeName: {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             hostPort(o.Host, o.FrontendPort),
				HTTPAddress:            hostPort(o.Host, httpPort),
				ClusterID:              clusterID,
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = services
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = hostPort(o.Host, o.FrontendPort)
	return &conf, nil
}

func staticHosts(conf *serverconfig.Config) map[primitives.ServiceName]static.Hosts {
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, svc := range conf.Services {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(hostPort(svc.RPC.BindOnIP, svc.RPC.GRPCPort))
	}
	return hosts
}

// startUI serves the Temporal UI and waits until it answers. The UI server's
// Start blocks, so it runs in the background.
func (s *Server) startUI(ctx context.Context, opts Options) error {
	s.uiURL = "http://" + hostPort(opts.Host, opts.UIPort)
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                opts.Host,
		Port:                opts.UIPort,
		TemporalGRPCAddress: s.frontendAddr,
		EnableUI:            true,
		DefaultNamespace:    opts.Namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		// The embedded default runs offline as happily as online.
		DisableNewsFetch: true,
	}))
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		if err := s.ui.Start(); err != nil {
			opts.Logger.Error("Temporal UI stopped", "address", s.uiURL, "error", err)
		}
	}()
	return waitForHTTP(ctx, s.uiURL, 30*time.Second)
}

func waitForHTTP(ctx context.Context, url string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("wait for Temporal UI at %s: %w", url, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for Temporal UI at %s: %w", url, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
