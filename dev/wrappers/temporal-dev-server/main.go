// The Temporal dev server this project runs (`npm start`, `npm run temporal`, the api and e2e tiers, the bench): the
// server release docker-compose pins, on SQLite, with the Web UI, as one process. It answers the part of
// `temporal server start-dev` the project uses, with the same flag names, so the dev tools' temporal-server.ts starts
// it like the CLI. Built because the CLI releases that embed this server cannot be built from the Go module proxy
// (see the dev tools' temporal-cli.ts); the CLI's other commands are not here.
package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	uiversion "github.com/temporalio/ui-server/v2/server/version"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/headers"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	// The SQLite driver the server's plugin registers, opened here to check a state file before the server does.
	_ "modernc.org/sqlite"
	// The time zone database, for schedules on machines without one.
	_ "time/tzdata"
)

// Version is set at build time (-ldflags -X main.Version=...).
var Version = "dev"

const clusterName = "active"

func versionString() string {
	return fmt.Sprintf("%s (Server %s, UI %s)", Version, headers.ServerVersion, uiversion.UIVersion)
}

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

type options struct {
	ip, uiIP, dbFile, logLevel, logFormat, uiCodecEndpoint, uiPublicPath string
	port, uiPort, httpPort, metricsPort, pprofPort                       int
	headless, logLevelSet, leanVisibility                                bool
	namespaces, pragmas, dynamicConfig, searchAttributes                 repeated
}

func main() {
	args := os.Args[1:]
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-v" || args[0] == "version") {
		fmt.Printf("temporal version %s\n", versionString())
		return
	}
	if len(args) < 2 || args[0] != "server" || args[1] != "start-dev" {
		fmt.Fprintf(os.Stderr, "usage: %s server start-dev [flags] | --version\n"+
			"(this build has only the dev server of the temporal CLI)\n", os.Args[0])
		os.Exit(2)
	}
	if err := startDev(args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "temporal server start-dev: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("start-dev", flag.ContinueOnError)
	fs.StringVar(&o.ip, "ip", "127.0.0.1", "IP address the frontend (and by default the UI) binds")
	fs.IntVar(&o.port, "port", 7233, "frontend gRPC port")
	fs.IntVar(&o.port, "p", 7233, "frontend gRPC port")
	fs.IntVar(&o.httpPort, "http-port", 0, "frontend HTTP port (0: a free one)")
	fs.IntVar(&o.metricsPort, "metrics-port", 0, "Prometheus metrics port (0: a free one)")
	fs.IntVar(&o.pprofPort, "pprof-port", 0, "Go pprof HTTP port on --ip, for profiling (0: off)")
	fs.StringVar(&o.uiIP, "ui-ip", "", "IP address the Web UI binds (default: --ip)")
	fs.IntVar(&o.uiPort, "ui-port", 0, "Web UI port (default: --port + 1000)")
	fs.BoolVar(&o.headless, "headless", false, "no Web UI")
	fs.StringVar(&o.uiCodecEndpoint, "ui-codec-endpoint", "", "codec server the Web UI decodes payloads with")
	fs.StringVar(&o.uiPublicPath, "ui-public-path", "", "path prefix of the Web UI")
	fs.StringVar(&o.dbFile, "db-filename", "", "SQLite file (default: in memory)")
	fs.StringVar(&o.dbFile, "f", "", "SQLite file (default: in memory)")
	fs.BoolVar(&o.leanVisibility, "lean-visibility", false,
		"a new --db-filename keeps only the visibility indexes of the default list, workflow id, type, status and the "+
			"--search-attribute fields (this build only; every list query still answers, a filter on another field scans)")
	fs.StringVar(&o.logLevel, "log-level", "warn", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "text or json")
	fs.Var(&o.namespaces, "namespace", "namespace to create besides default (repeatable)")
	fs.Var(&o.namespaces, "n", "namespace to create besides default (repeatable)")
	fs.Var(&o.pragmas, "sqlite-pragma", "SQLite pragma KEY=VALUE (repeatable)")
	fs.Var(&o.dynamicConfig, "dynamic-config-value", "dynamic config KEY=JSON (repeatable)")
	fs.Var(&o.searchAttributes, "search-attribute", "search attribute KEY=TYPE (repeatable)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	fs.Visit(func(f *flag.Flag) { o.logLevelSet = o.logLevelSet || f.Name == "log-level" })
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.ip == "localhost" {
		o.ip = "127.0.0.1"
	}
	if o.uiIP == "" {
		o.uiIP = o.ip
	}
	if o.uiPort == 0 {
		o.uiPort = min(o.port+1000, 65535)
	}
	return o, nil
}

func keyValue(s string) (string, string, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("%q is not KEY=VALUE", s)
	}
	return k, v, nil
}

// The CLI's defaults, which the project's flags override where it says so (system.forceSearchAttributesCacheRefreshOnRead).
func dynamicConfig(values []string) (dynamicconfig.StaticClient, error) {
	dc := dynamicconfig.StaticClient{
		dynamicconfig.MakeKey("system.forceSearchAttributesCacheRefreshOnRead"): true,
		dynamicconfig.MakeKey("system.forceNexusEndpointRefreshOnRead"):         true,
		dynamicconfig.MakeKey("frontend.persistenceMaxQPS"):                     10000,
		dynamicconfig.MakeKey("history.persistenceMaxQPS"):                      45000,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                        8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key():        100,
	}
	for _, kv := range values {
		k, raw, err := keyValue(kv)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("dynamic config value %s: %q is not JSON: %w", k, raw, err)
		}
		// Dynamic config wants int (not float64, int32 or int64) for integer settings.
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				v = int(i)
			} else if f, err := n.Float64(); err == nil {
				v = f
			}
		}
		dc[dynamicconfig.MakeKey(k)] = v
	}
	return dc, nil
}

func searchAttributes(values []string) (map[string]enumspb.IndexedValueType, error) {
	out := map[string]enumspb.IndexedValueType{}
	for _, kv := range values {
		name, typeName, err := keyValue(kv)
		if err != nil {
			return nil, err
		}
		var found enumspb.IndexedValueType
		for shorthand, value := range enumspb.IndexedValueType_shorthandValue {
			if strings.EqualFold(shorthand, typeName) {
				found = enumspb.IndexedValueType(value)
			}
		}
		if found == enumspb.INDEXED_VALUE_TYPE_UNSPECIFIED {
			return nil, fmt.Errorf("search attribute %s: unknown type %q", name, typeName)
		}
		out[name] = found
	}
	return out, nil
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func checkFree(ip string, port int, what string) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("%s port %d: %w", what, port, err)
	}
	return l.Close()
}

// The SQLite store: the schema written into a new file, the namespaces (with their search attributes) created.
func sqlStore(o *options, attrs map[string]enumspb.IndexedValueType) (*config.SQL, error) {
	store := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if o.dbFile == "" {
		store.ConnectAttributes["mode"], store.ConnectAttributes["cache"] = "memory", "shared"
		store.DatabaseName = "dev-" + uuid.NewString()
	} else {
		store.ConnectAttributes["mode"] = "rwc"
		store.DatabaseName = o.dbFile
	}
	for _, kv := range o.pragmas {
		k, v, err := keyValue(kv)
		if err != nil {
			return nil, fmt.Errorf("sqlite pragma: %w", err)
		}
		store.ConnectAttributes[k] = v
	}
	created := false
	if o.dbFile != "" {
		if _, err := os.Stat(o.dbFile); errors.Is(err, os.ErrNotExist) {
			if err := sqliteschema.SetupSchema(store); err != nil {
				return nil, fmt.Errorf("setting up the schema in %s: %w", o.dbFile, err)
			}
			created = true
		} else if err != nil {
			return nil, err
		} else if err := checkSchema(o.dbFile); err != nil {
			return nil, err
		}
	}
	var namespaces []*sqliteschema.NamespaceConfig
	for _, name := range append([]string{"default"}, o.namespaces...) {
		ns, err := sqliteschema.NewNamespaceConfig(clusterName, name, false, attrs)
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", name, err)
		}
		namespaces = append(namespaces, ns)
	}
	if err := sqliteschema.CreateNamespaces(store, namespaces...); err != nil {
		return nil, err
	}
	if created && o.leanVisibility {
		used := map[string]bool{"workflow_id": true, "workflow_type_name": true, "status": true}
		for _, ns := range namespaces {
			for field := range ns.Detail.GetConfig().GetCustomSearchAttributeAliases() {
				used[field] = true
			}
		}
		if err := pruneVisibilityIndexes(o.dbFile, used); err != nil {
			return nil, fmt.Errorf("pruning the visibility indexes of %s: %w", o.dbFile, err)
		}
	}
	return store, nil
}

// The visibility table has an index per search attribute column (58), each over a JSON_EXTRACT of the row's search
// attributes, and the server rewrites the whole row at every start, search attribute upsert and close: on SQLite that
// was a quarter of the server's CPU per order. The default list's index and those of the fields filtered on stay.
var visibilityIndexColumn = regexp.MustCompile(`ON executions_visibility \(namespace_id, ([A-Za-z0-9_]+),`)

func pruneVisibilityIndexes(file string, keep map[string]bool) error {
	db, err := sql.Open("sqlite", "file:"+file)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	rows, err := db.Query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'executions_visibility' AND name LIKE 'by\\_%' ESCAPE '\\'")
	if err != nil {
		return err
	}
	var drop []string
	for rows.Next() {
		var name, definition string
		if err := rows.Scan(&name, &definition); err != nil {
			_ = rows.Close()
			return err
		}
		if m := visibilityIndexColumn.FindStringSubmatch(definition); m != nil && !keep[m[1]] {
			drop = append(drop, name)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, name := range drop {
		if _, err := db.Exec(`DROP INDEX "` + name + `"`); err != nil {
			return err
		}
	}
	return nil
}

// The dev server writes its schema into a new file only and never migrates one. A file made by an older server (the
// temporal CLI 1.5.1 embeds 1.29.1) lacks the tables this one needs, and the server would fail on it later and less
// clearly: say so now.
func checkSchema(file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro")
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	var n int
	const newest = "current_chasm_executions" // the newest table of the v3 schema (its versioned/v0.11)
	if err := db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", newest).Scan(&n); err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	if n == 0 {
		return fmt.Errorf("%s was made by an older Temporal server (it has no table %s) and this one (%s) does not "+
			"migrate it: move it aside or delete it to start with an empty state", file, newest, headers.ServerVersion)
	}
	return nil
}

func serverConfig(o *options, sql *config.SQL) (*config.Config, map[primitives.ServiceName]static.Hosts, error) {
	hostPort := func(port int) string { return net.JoinHostPort(o.ip, strconv.Itoa(port)) }
	cfg := &config.Config{}
	cfg.Global.Membership.MaxJoinDuration = 30 * time.Second
	cfg.Global.Membership.BroadcastAddress = o.ip
	if o.metricsPort > 0 {
		cfg.Global.Metrics = &metrics.Config{
			Prometheus: &metrics.PrometheusConfig{ListenAddress: hostPort(o.metricsPort), HandlerPath: "/metrics"},
		}
	}
	// The server's own pprof endpoint (/debug/pprof/ on --ip): off unless asked for, as in the production server.
	cfg.Global.PProf.Port, cfg.Global.PProf.Host = o.pprofPort, o.ip
	cfg.Persistence.DefaultStore = "sqlite"
	cfg.Persistence.VisibilityStore = "sqlite"
	cfg.Persistence.NumHistoryShards = 1
	cfg.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sql}}
	cfg.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
			Enabled:                true,
			InitialFailoverVersion: 1,
			RPCAddress:             hostPort(o.port),
			HTTPAddress:            hostPort(o.httpPort),
			ClusterID:              uuid.NewString(),
		}},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"
	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	cfg.PublicClient.HostPort = hostPort(o.port)
	cfg.Services = map[string]config.Service{}
	hosts := map[primitives.ServiceName]static.Hosts{}
	for _, name := range []primitives.ServiceName{
		primitives.FrontendService, primitives.HistoryService, primitives.MatchingService, primitives.WorkerService,
	} {
		var service config.Service
		service.RPC.BindOnIP = o.ip
		if name == primitives.FrontendService {
			service.RPC.GRPCPort, service.RPC.HTTPPort = o.port, o.httpPort
		} else {
			port, err := freePort(o.ip)
			if err != nil {
				return nil, nil, err
			}
			service.RPC.GRPCPort = port
		}
		cfg.Services[string(name)] = service
		hosts[name] = static.SingleLocalHost(hostPort(service.RPC.GRPCPort))
	}
	return cfg, hosts, nil
}

func startDev(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	if err := checkFree(o.ip, o.port, "frontend"); err != nil {
		return err
	}
	if !o.headless {
		if err := checkFree(o.uiIP, o.uiPort, "UI"); err != nil {
			return err
		}
	}
	if o.httpPort == 0 {
		if o.httpPort, err = freePort(o.ip); err != nil {
			return err
		}
	}
	if o.metricsPort == 0 {
		if o.metricsPort, err = freePort(o.ip); err != nil {
			return err
		}
	}
	attrs, err := searchAttributes(o.searchAttributes)
	if err != nil {
		return err
	}
	dc, err := dynamicConfig(o.dynamicConfig)
	if err != nil {
		return err
	}
	sql, err := sqlStore(o, attrs)
	if err != nil {
		return err
	}
	cfg, hosts, err := serverConfig(o, sql)
	if err != nil {
		return err
	}
	level, err := zap.ParseAtomicLevel(o.logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	zapConfig := zap.NewProductionConfig()
	zapConfig.Level = level
	zapConfig.Encoding = "console"
	if o.logFormat == "json" {
		zapConfig.Encoding = "json"
	}
	zapConfig.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	zapConfig.Sampling = nil
	zl, err := zapConfig.Build()
	if err != nil {
		return err
	}
	logger := log.NewZapLogger(zl)
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return err
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return err
	}
	server, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return fmt.Errorf("creating the server: %w", err)
	}
	var ui *uiserver.Server
	if !o.headless {
		ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
			Host:                o.uiIP,
			Port:                o.uiPort,
			TemporalGRPCAddress: net.JoinHostPort(o.ip, strconv.Itoa(o.port)),
			EnableUI:            true,
			PublicPath:          o.uiPublicPath,
			Codec:               uiconfig.Codec{Endpoint: o.uiCodecEndpoint},
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
			DisableNewsFetch:    true,
		}))
		go func() {
			// Start blocks while it serves; a failure to bind ends the process, as nothing else would report it.
			if err := ui.Start(); err != nil {
				fmt.Fprintf(os.Stderr, "temporal server start-dev: the Web UI failed: %v\n", err)
				os.Exit(1)
			}
		}()
	}
	if err := server.Start(); err != nil {
		return fmt.Errorf("starting the server: %w", err)
	}
	friendly := func(ip string) string {
		if ip == "127.0.0.1" || ip == "::1" {
			return "localhost"
		}
		return ip
	}
	persistence := o.dbFile
	if persistence == "" {
		persistence = "in-memory"
	}
	fmt.Printf("Temporal dev server %s\n\n", versionString())
	fmt.Printf("%-21s %s:%d\n", "Temporal Server:", friendly(o.ip), o.port)
	fmt.Printf("%-21s %s\n", "Temporal Persistence:", persistence)
	if ui != nil {
		fmt.Printf("%-21s http://%s:%d%s\n", "Temporal UI:", friendly(o.uiIP), o.uiPort, o.uiPublicPath)
	}
	fmt.Printf("%-21s http://%s:%d/metrics\n", "Temporal Metrics:", friendly(o.ip), o.metricsPort)

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
	// The server warns routinely while it stops (pollers losing their connection), as the CLI knows.
	if !o.logLevelSet {
		level.SetLevel(zapcore.ErrorLevel)
	}
	if ui != nil {
		ui.Stop()
	}
	return server.Stop()
}
