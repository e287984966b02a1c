package awssandbox

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// User is an IAM user of an account besides its administrator, with the
// user's access key.
type User struct {
	Name      string
	AccountID string
	ARN       string
	// AccessKeyID and SecretAccessKey sign requests as the user.
	AccessKeyID     string
	SecretAccessKey string
}

// user is an IAM user besides an account's administrator. It has no
// policies: as a new IAM user in AWS, it may ask STS who it is, which needs
// no permission, and nothing else.
type user struct {
	Name      string    `json:"name"`
	ID        string    `json:"id"`
	KeyID     string    `json:"keyId"`
	CreatedAt time.Time `json:"createdAt"`
}

func (u *user) arn(accountID string) string {
	return "arn:aws:iam::" + accountID + ":user/" + u.Name
}

var userNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// CreateUser creates an IAM user with an access key in an account. The user
// has no policies, so it may only call sts:GetCallerIdentity: enough to
// prove who signed a request.
func (s *Sandbox) CreateUser(accountID, name string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[accountID]
	if a == nil {
		return User{}, fmt.Errorf("create sandbox user %s: account %s does not exist", name, accountID)
	}
	u, err := s.createUserLocked(a, name)
	if err != nil {
		return User{}, err
	}
	if err := s.commit(); err != nil {
		return User{}, fmt.Errorf("create sandbox user %s in %s: %w", name, accountID, err)
	}
	return s.exportUser(a, u), nil
}

// createUserLocked creates a user and its access key; the caller holds s.mu
// and commits.
func (s *Sandbox) createUserLocked(a *account, name string) (*user, error) {
	if !userNamePattern.MatchString(name) {
		return nil, fmt.Errorf("create sandbox user %q in %s: a user name is 1 to 64 letters, digits or +=,.@_-", name, a.ID)
	}
	if strings.EqualFold(name, a.UserName) || a.userNamed(name) != nil {
		return nil, fmt.Errorf("create sandbox user %s in %s: the account already has a user of that name", name, a.ID)
	}
	key := &accessKey{AccessKeyID: s.ids.accessKeyID("AKIA"), SecretAccessKey: s.ids.secret(), AccountID: a.ID, UserName: name}
	u := &user{Name: name, ID: s.ids.userID(), KeyID: key.AccessKeyID, CreatedAt: s.now()}
	if a.Users == nil {
		a.Users = map[string]*user{}
	}
	a.Users[name] = u
	s.st.Keys[key.AccessKeyID] = key
	s.dirty = true
	return u, nil
}

// userNamed is the user besides the administrator named name, ignoring
// case as IAM does, or nil.
func (a *account) userNamed(name string) *user {
	for existing, u := range a.Users {
		if strings.EqualFold(existing, name) {
			return u
		}
	}
	return nil
}

// User returns a user created with CreateUser.
func (s *Sandbox) User(accountID, name string) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Accounts[accountID]
	if a == nil {
		return User{}, fmt.Errorf("sandbox account %s does not exist", accountID)
	}
	u := a.Users[name]
	if u == nil {
		return User{}, fmt.Errorf("sandbox account %s has no user %s", accountID, name)
	}
	return s.exportUser(a, u), nil
}

func (s *Sandbox) exportUser(a *account, u *user) User {
	out := User{Name: u.Name, AccountID: a.ID, ARN: u.arn(a.ID)}
	if k := s.st.Keys[u.KeyID]; k != nil {
		out.AccessKeyID, out.SecretAccessKey = k.AccessKeyID, k.SecretAccessKey
	}
	return out
}

// authorize refuses what the caller's policies do not allow. Account
// administrators may do anything; role sessions what their role's identity
// policies allow (anything, for a role without any); users created with
// CreateUser have no policies, so they may only ask STS who they are.
func authorize(c *caller, operation string) *apiError {
	if c.service == "sts" && operation == "GetCallerIdentity" {
		return nil
	}
	if c.user == nil {
		return c.authorizeSession()
	}
	action := c.service + ":" + operation
	switch serviceProtocol(c.service) {
	case protoS3:
		return s3AccessDenied()
	case protoQuery:
		return errStatus(403, "AccessDenied", "User: %s is not authorized to perform: %s because no identity-based policy allows the %s action", c.arn(), action, action)
	default:
		return errf("AccessDeniedException", "User: %s is not authorized to perform: %s because no identity-based policy allows the %s action", c.arn(), action, action)
	}
}
