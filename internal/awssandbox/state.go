package awssandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"
)

// stateVersion is the format of the state file; a file of another version is
// refused rather than misread.
const stateVersion = 1

// state is everything the sandbox knows. It is guarded by Sandbox.mu and
// saved as a whole after every mutation.
type state struct {
	Version int `json:"version"`
	// Counter numbers every generated identifier, so that the same seed and
	// the same sequence of calls give the same IDs and keys.
	Counter         uint64                     `json:"counter"`
	Accounts        map[string]*account        `json:"accounts"`
	Keys            map[string]*accessKey      `json:"keys"`
	Organizations   map[string]*organization   `json:"organizations"`
	Buckets         map[string]*bucket         `json:"buckets"`
	Trails          map[string]*trail          `json:"trails"`
	EventDataStores map[string]*eventDataStore `json:"eventDataStores"`
	DeletionTasks   map[string]*deletionTask   `json:"deletionTasks"`
	// Dev records the seeded dev layout, so that a restarted dev default can
	// describe what it loaded.
	Dev *DevLayout `json:"dev,omitempty"`
}

func newState() *state {
	st := &state{Version: stateVersion}
	st.fillMaps()
	return st
}

// fillMaps makes every nil map of the state an empty one: those of a new
// state, and those a hand-edited file sets to null.
func (st *state) fillMaps() {
	v := reflect.ValueOf(st).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Map && f.IsNil() {
			f.Set(reflect.MakeMap(f.Type()))
		}
	}
}

// account is one AWS account with its administrator user, other users and
// roles.
type account struct {
	ID             string           `json:"id"`
	Name           string           `json:"name"`
	Email          string           `json:"email"`
	UserName       string           `json:"userName"`
	UserID         string           `json:"userId"`
	KeyID          string           `json:"keyId"`
	OrganizationID string           `json:"organizationId,omitempty"`
	JoinedMethod   string           `json:"joinedMethod,omitempty"`
	JoinedAt       time.Time        `json:"joinedAt,omitzero"`
	CreatedAt      time.Time        `json:"createdAt"`
	Roles          map[string]*role `json:"roles"`
	// Users are the account's IAM users besides its administrator.
	Users map[string]*user `json:"users,omitempty"`
}

func (a *account) userARN() string {
	return "arn:aws:iam::" + a.ID + ":user/" + a.UserName
}

// accessKey is a long-term key of an account's user or a temporary key of a
// role session issued by AssumeRole.
type accessKey struct {
	AccessKeyID     string    `json:"accessKeyId"`
	SecretAccessKey string    `json:"secretAccessKey"`
	AccountID       string    `json:"accountId"`
	UserName        string    `json:"userName,omitempty"`
	SessionToken    string    `json:"sessionToken,omitempty"`
	RoleName        string    `json:"roleName,omitempty"`
	SessionName     string    `json:"sessionName,omitempty"`
	Expiration      time.Time `json:"expiration,omitzero"`

	// SourceIdentity is a session's source identity: set when the role was
	// assumed, or carried from the session that assumed it, and never
	// changed.
	SourceIdentity string    `json:"sourceIdentity,omitempty"`
	IssuedAt       time.Time `json:"issuedAt,omitzero"`
}

func (k *accessKey) temporary() bool { return k.SessionToken != "" }

// role is an IAM role, service-linked or not.
type role struct {
	Name               string            `json:"name"`
	ID                 string            `json:"id"`
	Path               string            `json:"path"`
	TrustPolicy        string            `json:"trustPolicy"`
	Description        string            `json:"description,omitempty"`
	MaxSessionDuration int               `json:"maxSessionDuration"`
	CreatedAt          time.Time         `json:"createdAt"`
	Tags               []tag             `json:"tags,omitempty"`
	ServiceName        string            `json:"serviceName,omitempty"` // set on service-linked roles
	LastUsed           map[string]string `json:"lastUsed,omitempty"`

	// Policies are the role's inline identity policies by name. A role
	// without any may do everything (see authorizeSession).
	Policies map[string]string `json:"policies,omitempty"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// organization is an AWS organization.
type organization struct {
	ID                  string    `json:"id"`
	FeatureSet          string    `json:"featureSet"`
	ManagementAccountID string    `json:"managementAccountId"`
	RootID              string    `json:"rootId"`
	Label               string    `json:"label,omitempty"`
	CreatedAt           time.Time `json:"createdAt"`
	// Members lists every account in the organization, management included,
	// in the order they joined.
	Members []string `json:"members"`
	// ServiceAccess is trusted access per service principal.
	ServiceAccess map[string]*toggle `json:"serviceAccess"`
	// Delegations is delegated administration, keyed by account ID and then
	// by service principal.
	Delegations map[string]map[string]*toggle `json:"delegations"`
}

func (o *organization) arn() string {
	return "arn:aws:organizations::" + o.ManagementAccountID + ":organization/" + o.ID
}

func (o *organization) accountARN(id string) string {
	return "arn:aws:organizations::" + o.ManagementAccountID + ":account/" + o.ID + "/" + id
}

func (o *organization) hasMember(id string) bool {
	for _, m := range o.Members {
		if m == id {
			return true
		}
	}
	return false
}

// trustedAccess reports whether principal's trusted access is in effect now
// (the service itself sees changes at once; only List* calls lag).
func (o *organization) trustedAccess(principal string) bool {
	t := o.ServiceAccess[principal]
	return t != nil && t.On
}

// toggle is a setting that List* calls see only after the propagation
// delay: until then they see its previous value.
type toggle struct {
	On        bool      `json:"on"`
	Since     time.Time `json:"since,omitzero"`
	ChangedAt time.Time `json:"changedAt,omitzero"`
	PrevOn    bool      `json:"prevOn,omitempty"`
	PrevSince time.Time `json:"prevSince,omitzero"`
}

// set changes the toggle; setting it to its current value changes nothing
// (and keeps Since, as DateEnabled is kept by a repeated enable).
func (t *toggle) set(on bool, now time.Time, delay time.Duration) {
	if t.On == on {
		return
	}
	t.PrevOn, t.PrevSince = t.view(now, delay)
	t.On, t.ChangedAt = on, now
	if on {
		t.Since = now
	} else {
		t.Since = time.Time{}
	}
}

// view is what List* calls see at now.
func (t *toggle) view(now time.Time, delay time.Duration) (bool, time.Time) {
	if delay > 0 && now.Sub(t.ChangedAt) < delay {
		return t.PrevOn, t.PrevSince
	}
	return t.On, t.Since
}

// bucket is an S3 bucket; bucket names are global across accounts.
type bucket struct {
	Name      string    `json:"name"`
	Owner     string    `json:"owner"`
	Region    string    `json:"region"`
	Policy    string    `json:"policy,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// trail is a CloudTrail trail, keyed by ARN in state.
type trail struct {
	Name                       string    `json:"name"`
	AccountID                  string    `json:"accountId"`
	Region                     string    `json:"region"`
	S3BucketName               string    `json:"s3BucketName"`
	S3KeyPrefix                string    `json:"s3KeyPrefix,omitempty"`
	SnsTopicName               string    `json:"snsTopicName,omitempty"`
	IncludeGlobalServiceEvents bool      `json:"includeGlobalServiceEvents"`
	IsMultiRegionTrail         bool      `json:"isMultiRegionTrail"`
	LogFileValidationEnabled   bool      `json:"logFileValidationEnabled"`
	CloudWatchLogsLogGroupArn  string    `json:"cloudWatchLogsLogGroupArn,omitempty"`
	CloudWatchLogsRoleArn      string    `json:"cloudWatchLogsRoleArn,omitempty"`
	KmsKeyID                   string    `json:"kmsKeyId,omitempty"`
	IsOrganizationTrail        bool      `json:"isOrganizationTrail"`
	OrganizationID             string    `json:"organizationId,omitempty"`
	Tags                       []tag     `json:"tags,omitempty"`
	Logging                    bool      `json:"logging"`
	StartLoggingTime           time.Time `json:"startLoggingTime,omitzero"`
	StopLoggingTime            time.Time `json:"stopLoggingTime,omitzero"`
	CreatedAt                  time.Time `json:"createdAt"`
}

func (t *trail) arn() string {
	return trailARN(t.Region, t.AccountID, t.Name)
}

func trailARN(region, accountID, name string) string {
	return "arn:aws:cloudtrail:" + region + ":" + accountID + ":trail/" + name
}

// eventDataStore is a CloudTrail Lake event data store.
type eventDataStore struct {
	ARN                          string            `json:"arn"`
	Name                         string            `json:"name"`
	AccountID                    string            `json:"accountId"`
	Region                       string            `json:"region"`
	Status                       string            `json:"status"`
	AdvancedEventSelectors       []json.RawMessage `json:"advancedEventSelectors"`
	MultiRegionEnabled           bool              `json:"multiRegionEnabled"`
	OrganizationEnabled          bool              `json:"organizationEnabled"`
	RetentionPeriod              int               `json:"retentionPeriod"`
	TerminationProtectionEnabled bool              `json:"terminationProtectionEnabled"`
	KmsKeyID                     string            `json:"kmsKeyId,omitempty"`
	BillingMode                  string            `json:"billingMode"`
	CreatedAt                    time.Time         `json:"createdAt"`
	UpdatedAt                    time.Time         `json:"updatedAt"`
}

// deletionTask is the result of DeleteServiceLinkedRole.
type deletionTask struct {
	ID        string    `json:"id"`
	AccountID string    `json:"accountId"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Region    string    `json:"region,omitempty"`
	Resources []string  `json:"resources,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// loadState reads a state file; a missing file is an empty state.
func loadState(path string) (*state, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read sandbox state %s: %w", path, err)
	}
	st := newState()
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("decode sandbox state %s: %w", path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("sandbox state %s has version %d, want %d", path, st.Version, stateVersion)
	}
	// Maps absent from an older or hand-edited file are empty, not nil.
	st.fillMaps()
	for _, a := range st.Accounts {
		if a.Roles == nil {
			a.Roles = map[string]*role{}
		}
	}
	for _, o := range st.Organizations {
		if o.ServiceAccess == nil {
			o.ServiceAccess = map[string]*toggle{}
		}
		if o.Delegations == nil {
			o.Delegations = map[string]map[string]*toggle{}
		}
	}
	return st, nil
}

// writeFileAtomic writes a file through a temporary file in the same
// directory, synced, then renamed over the old one, so that a crash leaves
// either the old file or the new one, never a torn one.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := createBeside(path)
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	return replaceWith(tmp, path)
}

// createBeside creates a temporary file in path's directory, creating the
// directory if need be.
func createBeside(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create directory %s: %w", filepath.Dir(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return tmp, nil
}

// replaceWith syncs and closes tmp, written in full, and renames it over
// path; tmp is gone either way.
func replaceWith(tmp *os.File, path string) error {
	defer os.Remove(tmp.Name()) // a no-op once renamed
	err := tmp.Sync()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	// The rename is durable only once the directory entry is.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// idSource derives identifiers from the seed and the state's counter.
type idSource struct {
	seed int64
	st   *state
}

func (g idSource) bytes(kind string, n int) []byte {
	g.st.Counter++
	var out []byte
	for block := uint32(0); len(out) < n; block++ {
		h := sha256.New()
		var buf [20]byte
		binary.BigEndian.PutUint64(buf[0:8], uint64(g.seed))
		binary.BigEndian.PutUint64(buf[8:16], g.st.Counter)
		binary.BigEndian.PutUint32(buf[16:20], block)
		h.Write(buf[:])
		h.Write([]byte(kind))
		out = h.Sum(out)
	}
	return out[:n]
}

func (g idSource) fromAlphabet(kind, alphabet string, n int) string {
	b := g.bytes(kind, n)
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	base32Up   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	digits     = "0123456789"
)

func (g idSource) accountID() string {
	return g.fromAlphabet("account", "123456789", 1) + g.fromAlphabet("account", digits, 11)
}

func (g idSource) accessKeyID(prefix string) string {
	return prefix + g.fromAlphabet("key", base32Up, 16)
}

func (g idSource) secret() string {
	return base64.StdEncoding.EncodeToString(g.bytes("secret", 30))
}

// sessionCredentials are fresh temporary credentials. Unlike accounts and
// long-term keys they are never derived from the seed: AWS never issues the
// same session key twice, and clients cache session keys across runs (the
// AWS CLI keeps assumed-role credentials under ~/.aws/cli/cache), so a key a
// previous sandbox issued must not name an identity in this one.
func sessionCredentials() (accessKeyID, secret, token string) {
	b := make([]byte, 16+30+150)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("read random bytes: %v", err))
	}
	var id strings.Builder
	for _, c := range b[:16] {
		id.WriteByte(base32Up[int(c)%len(base32Up)])
	}
	return "ASIA" + id.String(), base64.StdEncoding.EncodeToString(b[16:46]), "FwoGZXIvYXdzE" + base64.StdEncoding.EncodeToString(b[46:])
}

func (g idSource) organizationID() string { return "o-" + g.fromAlphabet("org", lowerAlnum, 10) }
func (g idSource) rootID() string         { return "r-" + g.fromAlphabet("root", lowerAlnum, 4) }
func (g idSource) roleID() string         { return "AROA" + g.fromAlphabet("role", upperAlnum, 17) }
func (g idSource) userID() string         { return "AIDA" + g.fromAlphabet("user", upperAlnum, 17) }

func (g idSource) uuid() string {
	b := g.bytes("uuid", 16)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
