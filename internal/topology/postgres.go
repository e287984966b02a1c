package topology

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/trailgate/trailgate/internal/devserver"
)

// PostgresUser and PostgresPassword are the database role Temporal uses,
// here and in docker-compose.yml.
const (
	PostgresUser     = "temporal"
	PostgresPassword = "temporal"
)

// PostgresMajor is the major version of PostgreSQL this topology runs:
// Debian's, which docker-compose.yml's image matches.
const PostgresMajor = 15

// debianPostgres is where Debian's postgresql package puts its programs.
const debianPostgres = "/usr/lib/postgresql"

// ErrNoPostgres says that PostgreSQL's programs are not on this machine.
var ErrNoPostgres = errors.New("PostgreSQL is not installed: initdb and postgres are neither on PATH nor under " + debianPostgres + "/*/bin; install it with `apt-get install postgresql`")

// FindPostgres is the directory that holds PostgreSQL's initdb and
// postgres: the one on PATH, else Debian's newest.
func FindPostgres() (string, error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(initdb); err == nil {
			initdb = real
		}
		return filepath.Dir(initdb), nil
	}
	dirs, _ := filepath.Glob(filepath.Join(debianPostgres, "*", "bin", "initdb"))
	if len(dirs) == 0 {
		return "", ErrNoPostgres
	}
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	return filepath.Dir(dirs[0]), nil
}

func majorOf(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// Postgres is a PostgreSQL server of its own, in a temporary directory,
// listening on the loopback interface only.
type Postgres struct {
	*Process
	Port    int
	Version string
	dir     string
}

// Address is where Temporal connects: host:port.
func (pg *Postgres) Address() string { return "127.0.0.1:" + strconv.Itoa(pg.Port) }

// StartPostgres initialises a database cluster in a new temporary
// directory and starts PostgreSQL on it. PostgreSQL refuses to run as root:
// as root, it runs as the postgres user that Debian's package creates.
// Close removes what it made.
func StartPostgres(ctx context.Context, logDir string) (*Postgres, error) {
	bin, err := FindPostgres()
	if err != nil {
		return nil, err
	}
	version, err := versionOf(filepath.Join(bin, "postgres"), "--version")
	if err != nil {
		return nil, err
	}
	if m := regexp.MustCompile(`\d+`).FindString(version); m != strconv.Itoa(PostgresMajor) {
		return nil, fmt.Errorf("PostgreSQL here is %q, and this topology and docker-compose.yml pin %d; update topology.PostgresMajor and the postgres image in docker-compose.yml together", version, PostgresMajor)
	}
	dir, err := os.MkdirTemp("", "trailgate-postgres-*")
	if err != nil {
		return nil, err
	}
	pg := &Postgres{Version: version, dir: dir}
	cred, err := postgresCredential(dir)
	if err != nil {
		pg.Close()
		return nil, err
	}
	if pg.Port, err = devserver.FreePort("127.0.0.1"); err != nil {
		pg.Close()
		return nil, err
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", PostgresUser, "--auth=trust", "-E", "UTF8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		pg.Close()
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-p", strconv.Itoa(pg.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200",
		// A test's database need not survive the machine's crash; the
		// processes killed here are trailgate's, not PostgreSQL.
		"-c", "fsync=off", "-c", "synchronous_commit=off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if pg.Process, err = startProcess("PostgreSQL", filepath.Join(logDir, "postgresql.log"), cmd); err != nil {
		pg.Close()
		return nil, err
	}
	if err := pg.awaitReady(ctx); err != nil {
		pg.Close()
		return nil, err
	}
	return pg, nil
}

// postgresCredential is who PostgreSQL runs as: this user, or postgres
// when this is root, who is then given dir.
func postgresCredential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("PostgreSQL refuses to run as root, and there is no postgres user to run it as; `apt-get install postgresql` creates one")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// awaitReady waits for PostgreSQL to say it accepts connections.
func (pg *Postgres) awaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		if data, _ := os.ReadFile(pg.Log); strings.Contains(string(data), "database system is ready to accept connections") {
			return nil
		}
		select {
		case <-pg.Exited():
			return pg.exitedEarly("it to accept connections")
		case <-ctx.Done():
			return fmt.Errorf("PostgreSQL did not accept connections within a minute; the end of %s:\n%s", pg.Log, pg.Tail(20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Close stops PostgreSQL (a fast shutdown) and removes its directory.
func (pg *Postgres) Close() {
	if pg.Process != nil {
		_ = pg.Stop(syscall.SIGINT, 30*time.Second)
	}
	_ = os.RemoveAll(pg.dir)
}
