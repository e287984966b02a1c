package awssandbox

import (
	"net/url"
	"regexp"
	"strconv"
	"time"
)

var (
	sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDPattern  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	roleARNPattern     = regexp.MustCompile(`^arn:aws:iam::(\d{12}):role/(?:[\x21-\x7E]*/)?([\w+=,.@-]{1,64})$`)
)

// roleChainingMaxDuration caps sessions of a role assumed by another role's
// session.
const roleChainingMaxDuration = 3600

type callerIdentityResult struct {
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
	Arn     string `xml:"Arn"`
}

func (s *Sandbox) stsGetCallerIdentity(c *caller, _ url.Values) (queryResult, *apiError) {
	return callerIdentityResult{UserID: c.userID(), Account: c.account.ID, Arn: c.arn()}, nil
}

type assumeRoleResult struct {
	Credentials      stsCredentials  `xml:"Credentials"`
	AssumedRoleUser  assumedRoleUser `xml:"AssumedRoleUser"`
	PackedPolicySize *int            `xml:"PackedPolicySize,omitempty"`
	SourceIdentity   string          `xml:"SourceIdentity,omitempty"`
}

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

// validateSessionString checks a role session name or source identity:
// 2 to 64 characters of [\w+=,.@-].
func validateSessionString(value, member string) *apiError {
	switch {
	case len(value) < 2:
		return validationError(value, member, "Member must have length greater than or equal to 2")
	case len(value) > 64:
		return validationError(value, member, "Member must have length less than or equal to 64")
	case !sessionNamePattern.MatchString(value):
		return validationError(value, member, "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
	}
	return nil
}

func validationError(value, member, constraint string) *apiError {
	return errf("ValidationError", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}

func (s *Sandbox) stsAssumeRole(c *caller, form url.Values) (queryResult, *apiError) {
	roleArn := form.Get("RoleArn")
	sessionName := form.Get("RoleSessionName")
	if len(roleArn) < 20 {
		return nil, validationError(roleArn, "roleArn", "Member must have length greater than or equal to 20")
	}
	if aerr := validateSessionString(sessionName, "roleSessionName"); aerr != nil {
		return nil, aerr
	}
	sourceIdentity, hasSourceIdentity := form.Get("SourceIdentity"), form.Has("SourceIdentity")
	if hasSourceIdentity {
		// The pattern has no colon, so it refuses the reserved prefix aws:
		// too.
		if aerr := validateSessionString(sourceIdentity, "sourceIdentity"); aerr != nil {
			return nil, aerr
		}
	}
	externalID, hasExternalID := form.Get("ExternalId"), form.Has("ExternalId")
	if hasExternalID && (len(externalID) < 2 || len(externalID) > 1224 || !externalIDPattern.MatchString(externalID)) {
		return nil, validationError(externalID, "externalId", "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*")
	}
	duration := 3600
	if v := form.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > 43200 {
			return nil, validationError(v, "durationSeconds", "Member must have value between 900 and 43200")
		}
		duration = n
	}
	m := roleARNPattern.FindStringSubmatch(roleArn)
	if m == nil {
		return nil, errf("ValidationError", "%s is invalid", roleArn)
	}
	denied := errStatus(403, "AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.arn(), roleArn)
	target := s.st.Accounts[m[1]]
	if target == nil {
		return nil, denied
	}
	r := target.Roles[m[2]]
	if r == nil || roleARN(target.ID, r) != roleArn || r.ServiceName != "" {
		return nil, denied
	}
	trust, err := parsePolicy(r.TrustPolicy)
	if err != nil {
		return nil, denied
	}
	ctx := map[string][]string{
		"aws:PrincipalArn":     {c.principalARN()},
		"aws:PrincipalAccount": {c.account.ID},
		"sts:RoleSessionName":  {sessionName},
	}
	if hasExternalID {
		ctx["sts:ExternalId"] = []string{externalID}
	}
	req := accessRequest{
		kind:       "AWS",
		principals: []string{c.arn(), c.principalARN()},
		account:    c.account.ID,
		action:     "sts:AssumeRole",
		context:    ctx,
	}
	// A source identity, once set, stays with every session chained from
	// it; setting one, or carrying one into another role, needs
	// sts:SetSourceIdentity from both the role's trust policy and the
	// caller's identity policies.
	if inherited := c.key.SourceIdentity; inherited != "" {
		if hasSourceIdentity && sourceIdentity != inherited {
			return nil, errStatus(403, "AccessDenied", "User: %s is not authorized to perform: sts:SetSourceIdentity on resource: %s: the source identity %s of the session cannot be changed", c.arn(), roleArn, inherited)
		}
		sourceIdentity = inherited
	}
	if sourceIdentity != "" {
		ctx["sts:SourceIdentity"] = []string{sourceIdentity}
	}
	if !trust.allows(req) {
		return nil, denied
	}
	if sourceIdentity != "" {
		req.action = "sts:SetSourceIdentity"
		if !trust.allows(req) {
			return nil, errStatus(403, "AccessDenied", "User: %s is not authorized to perform: sts:SetSourceIdentity on resource: %s", c.arn(), roleArn)
		}
		if d := c.evaluate("sts:SetSourceIdentity", roleArn, ctx); d != allowed {
			return nil, c.accessDenied("sts:SetSourceIdentity", roleArn, d)
		}
	}
	limit := r.MaxSessionDuration
	if c.key.temporary() {
		limit = roleChainingMaxDuration
	}
	if duration > limit {
		if c.key.temporary() {
			return nil, errf("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
		}
		return nil, errf("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}

	now := s.now()
	keyID, secret, token := sessionCredentials()
	key := &accessKey{
		AccessKeyID:     keyID,
		SecretAccessKey: secret,
		SessionToken:    token,
		AccountID:       target.ID,
		RoleName:        r.Name,
		SessionName:     sessionName,
		Expiration:      now.Add(time.Duration(duration) * time.Second),
		SourceIdentity:  sourceIdentity,
		IssuedAt:        now,
	}
	s.pruneExpiredKeysLocked(now)
	s.st.Keys[key.AccessKeyID] = key
	r.LastUsed = map[string]string{"date": isoTime(now), "region": c.region}
	s.dirty = true
	out := assumeRoleResult{
		Credentials: stsCredentials{
			AccessKeyID:     key.AccessKeyID,
			SecretAccessKey: key.SecretAccessKey,
			SessionToken:    key.SessionToken,
			Expiration:      isoTime(key.Expiration),
		},
		AssumedRoleUser: assumedRoleUser{
			AssumedRoleID: r.ID + ":" + sessionName,
			Arn:           "arn:aws:sts::" + target.ID + ":assumed-role/" + r.Name + "/" + sessionName,
		},
		SourceIdentity: sourceIdentity,
	}
	if form.Get("Policy") != "" || form.Has("PolicyArns.member.1.arn") {
		size := 6
		out.PackedPolicySize = &size
	}
	return out, nil
}

// principalARN is the IAM principal behind the caller: the user, or the
// role (not the session) of an assumed-role session.
func (c *caller) principalARN() string {
	if c.key.temporary() {
		if r := c.account.Roles[c.key.RoleName]; r != nil {
			return roleARN(c.account.ID, r)
		}
		return "arn:aws:iam::" + c.account.ID + ":role/" + c.key.RoleName
	}
	return c.arn()
}

// pruneEvery is how often AssumeRole looks for temporary keys to forget.
// Each look goes through every key: a change over 1,000 organizations
// assumes thousands of roles among thousands of keys, and looking at every
// AssumeRole took a hundredth of the dev default's CPU.
const pruneEvery = time.Hour

// pruneExpiredKeysLocked forgets temporary keys that expired a day ago, so
// that the state file does not grow without bound; it looks at most once
// every pruneEvery.
func (s *Sandbox) pruneExpiredKeysLocked(now time.Time) {
	if !s.pruned.IsZero() && now.Sub(s.pruned) < pruneEvery {
		return
	}
	s.pruned = now
	for id, k := range s.st.Keys {
		if k.temporary() && now.Sub(k.Expiration) > 24*time.Hour {
			delete(s.st.Keys, id)
		}
	}
}
