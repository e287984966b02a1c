package awssandbox

import (
	"encoding/json"
	"net"
	"regexp"
	"sort"
	"strings"
)

const (
	maxTrailsPerRegion          = 5
	listTrailsPageSize          = 10
	maxEventDataStoresPerRegion = 10
)

var (
	trailNamePattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$`)
	trailNameAdjacent   = regexp.MustCompile(`[._-]{2}`)
	trailARNPattern     = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):trail/(.+)$`)
	edsNamePattern      = regexp.MustCompile(`^[a-zA-Z0-9._-]{3,128}$`)
	edsARNPattern       = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):eventdatastore/([a-f0-9-]+)$`)
	edsIDPattern        = regexp.MustCompile(`^[a-f0-9-]{36}$`)
	defaultEDSSelectors = json.RawMessage(`{"Name":"Default management events","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]}]}`)
)

func validTrailName(name string) bool {
	return trailNamePattern.MatchString(name) && !trailNameAdjacent.MatchString(name) && net.ParseIP(name) == nil
}

func errTrailNotFound(c *caller, name string) *apiError {
	arn := name
	if !strings.HasPrefix(name, "arn:") {
		arn = trailARN(c.region, c.account.ID, name)
	}
	return errf("TrailNotFoundException", "Unknown trail: %s for the user: %s", arn, c.account.ID)
}

func errNotManagement() *apiError {
	return errf("NotOrganizationMasterAccountException", "The request was made from an account that is not the management account of an organization or a delegated administrator for CloudTrail.")
}

// orgTrailPrerequisites checks what an organization trail or event data
// store needs: an organization with all features, the management account
// (or a CloudTrail delegated administrator), trusted access for CloudTrail
// and the management account's service-linked role. It returns the
// organization.
func (s *Sandbox) orgTrailPrerequisites(c *caller) (*organization, *apiError) {
	o := s.organizationOf(c.account)
	if o == nil {
		return nil, errf("OrganizationsNotInUseException", "This account is not a member of an organization.")
	}
	if o.FeatureSet != "ALL" {
		return nil, errf("OrganizationNotInAllFeaturesModeException", "This organization is not in all features mode. Enable all features in AWS Organizations to create an organization trail.")
	}
	if c.account.ID != o.ManagementAccountID && !o.isDelegate(c.account.ID, cloudTrailPrincipal) {
		return nil, errNotManagement()
	}
	if !o.trustedAccess(cloudTrailPrincipal) {
		return nil, errf("CloudTrailAccessNotEnabledException", "This operation is not permitted: trusted access for CloudTrail is not enabled in AWS Organizations.")
	}
	if mgmt := s.st.Accounts[o.ManagementAccountID]; mgmt.Roles[cloudTrailRole] == nil {
		return nil, errf("InsufficientDependencyServiceAccessPermissionException", "The management account of the organization does not have the service-linked role %s required for organization trails.", cloudTrailRole)
	}
	return o, nil
}

// trailJSON is a trail as GetTrail and DescribeTrails return it.
type trailJSON struct {
	Name                       string `json:"Name"`
	S3BucketName               string `json:"S3BucketName"`
	S3KeyPrefix                string `json:"S3KeyPrefix,omitempty"`
	SnsTopicName               string `json:"SnsTopicName,omitempty"`
	SnsTopicARN                string `json:"SnsTopicARN,omitempty"`
	IncludeGlobalServiceEvents bool   `json:"IncludeGlobalServiceEvents"`
	IsMultiRegionTrail         bool   `json:"IsMultiRegionTrail"`
	HomeRegion                 string `json:"HomeRegion,omitempty"`
	TrailARN                   string `json:"TrailARN"`
	LogFileValidationEnabled   bool   `json:"LogFileValidationEnabled"`
	CloudWatchLogsLogGroupArn  string `json:"CloudWatchLogsLogGroupArn,omitempty"`
	CloudWatchLogsRoleArn      string `json:"CloudWatchLogsRoleArn,omitempty"`
	KmsKeyID                   string `json:"KmsKeyId,omitempty"`
	*trailSelectorsJSON
	IsOrganizationTrail bool `json:"IsOrganizationTrail"`
}

// trailSelectorsJSON says whether a trail has custom event selectors and
// insight selectors, as GetTrail and DescribeTrails do (CreateTrail and
// UpdateTrail do not); the sandbox's trails have neither.
type trailSelectorsJSON struct {
	HasCustomEventSelectors bool `json:"HasCustomEventSelectors"`
	HasInsightSelectors     bool `json:"HasInsightSelectors"`
}

func exportTrail(t *trail, full bool) trailJSON {
	out := trailJSON{
		Name:                       t.Name,
		S3BucketName:               t.S3BucketName,
		S3KeyPrefix:                t.S3KeyPrefix,
		SnsTopicName:               t.SnsTopicName,
		IncludeGlobalServiceEvents: t.IncludeGlobalServiceEvents,
		IsMultiRegionTrail:         t.IsMultiRegionTrail,
		TrailARN:                   t.arn(),
		LogFileValidationEnabled:   t.LogFileValidationEnabled,
		CloudWatchLogsLogGroupArn:  t.CloudWatchLogsLogGroupArn,
		CloudWatchLogsRoleArn:      t.CloudWatchLogsRoleArn,
		KmsKeyID:                   t.KmsKeyID,
		IsOrganizationTrail:        t.IsOrganizationTrail,
	}
	if t.SnsTopicName != "" {
		out.SnsTopicARN = "arn:aws:sns:" + t.Region + ":" + t.AccountID + ":" + t.SnsTopicName
	}
	if full {
		out.HomeRegion = t.Region
		out.trailSelectorsJSON = &trailSelectorsJSON{}
	}
	return out
}

// visibleTrail reports whether c sees t from its region: its own trails in
// their home region, its multi-Region trails everywhere, and its
// organization's trails (the copies in member accounts).
func (s *Sandbox) visibleTrail(c *caller, t *trail) bool {
	if t.Region != c.region && !t.IsMultiRegionTrail {
		return false
	}
	if t.AccountID == c.account.ID {
		return true
	}
	// Member accounts hold the organization trail's copy only while
	// CloudTrail has trusted access to the organization.
	o := s.st.Organizations[t.OrganizationID]
	return t.IsOrganizationTrail && o != nil && c.account.OrganizationID == o.ID && o.trustedAccess(cloudTrailPrincipal)
}

// findTrail resolves a trail name or ARN as c sees it.
func (s *Sandbox) findTrail(c *caller, nameOrARN string) (*trail, *apiError) {
	if nameOrARN == "" {
		return nil, errf("InvalidTrailNameException", "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).")
	}
	if strings.HasPrefix(nameOrARN, "arn:") {
		if !trailARNPattern.MatchString(nameOrARN) {
			return nil, errf("CloudTrailARNInvalidException", "The ARN %s is not valid.", nameOrARN)
		}
		if t := s.st.Trails[nameOrARN]; t != nil && s.visibleTrail(c, t) {
			return t, nil
		}
		return nil, errTrailNotFound(c, nameOrARN)
	}
	if !validTrailName(nameOrARN) {
		return nil, errf("InvalidTrailNameException", "Trail name %s is not valid.", nameOrARN)
	}
	if t := s.st.Trails[trailARN(c.region, c.account.ID, nameOrARN)]; t != nil {
		return t, nil
	}
	for _, arn := range sortedKeys(s.st.Trails) {
		t := s.st.Trails[arn]
		if t.Name == nameOrARN && t.AccountID == c.account.ID && t.IsMultiRegionTrail {
			return t, nil
		}
	}
	return nil, errTrailNotFound(c, nameOrARN)
}

// mutableTrail resolves a trail c may change: from its home Region, by its
// owner or, for an organization trail, a CloudTrail delegated administrator.
func (s *Sandbox) mutableTrail(c *caller, nameOrARN string) (*trail, *apiError) {
	t, aerr := s.findTrail(c, nameOrARN)
	if aerr != nil {
		return nil, aerr
	}
	if t.AccountID != c.account.ID {
		o := s.organizationOf(c.account)
		if o == nil || !o.isDelegate(c.account.ID, cloudTrailPrincipal) {
			return nil, errNotManagement()
		}
	}
	if t.Region != c.region {
		return nil, errf("InvalidHomeRegionException", "This operation must be called from the Region in which the trail was created.")
	}
	return t, nil
}

// trailRequest is the input of the operations on one trail.
type trailRequest struct{ Name string }

type trailSettings struct {
	S3BucketName               *string
	S3KeyPrefix                *string
	SnsTopicName               *string
	IncludeGlobalServiceEvents *bool
	IsMultiRegionTrail         *bool
	EnableLogFileValidation    *bool
	CloudWatchLogsLogGroupArn  *string
	CloudWatchLogsRoleArn      *string
	KmsKeyID                   *string `json:"KmsKeyId"`
	IsOrganizationTrail        *bool
}

func (s *Sandbox) applyTrailSettings(c *caller, t *trail, in trailSettings) {
	setGiven(&t.S3BucketName, in.S3BucketName)
	setGiven(&t.S3KeyPrefix, in.S3KeyPrefix)
	setGiven(&t.SnsTopicName, in.SnsTopicName)
	setGiven(&t.IncludeGlobalServiceEvents, in.IncludeGlobalServiceEvents)
	setGiven(&t.IsMultiRegionTrail, in.IsMultiRegionTrail)
	setGiven(&t.LogFileValidationEnabled, in.EnableLogFileValidation)
	setGiven(&t.CloudWatchLogsLogGroupArn, in.CloudWatchLogsLogGroupArn)
	setGiven(&t.CloudWatchLogsRoleArn, in.CloudWatchLogsRoleArn)
	if in.KmsKeyID != nil {
		t.KmsKeyID = qualifyKMSKey(*in.KmsKeyID, t.Region, t.AccountID)
	}
	setGiven(&t.IsOrganizationTrail, in.IsOrganizationTrail)
}

// setGiven sets *dst to the value of an optional input, when it is given.
func setGiven[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// qualifyKMSKey turns a key ID or alias into the ARN CloudTrail reports.
func qualifyKMSKey(id, region, accountID string) string {
	if id == "" || strings.HasPrefix(id, "arn:") {
		return id
	}
	if strings.HasPrefix(id, "alias/") {
		return "arn:aws:kms:" + region + ":" + accountID + ":" + id
	}
	return "arn:aws:kms:" + region + ":" + accountID + ":key/" + id
}

// validateTrail checks a trail's settings and its organization
// prerequisites, then its bucket.
func (s *Sandbox) validateTrail(c *caller, t *trail) *apiError {
	if t.S3BucketName == "" {
		return errf("InvalidS3BucketNameException", "Bucket name should not be empty.")
	}
	if t.IsMultiRegionTrail && !t.IncludeGlobalServiceEvents {
		return errf("InvalidParameterCombinationException", "Multi-Region trail must include global service events.")
	}
	if strings.HasSuffix(t.S3KeyPrefix, "/") || strings.HasPrefix(t.S3KeyPrefix, "/") {
		return errf("InvalidS3PrefixException", "Prefix %s is not valid.", t.S3KeyPrefix)
	}
	orgID := ""
	if t.IsOrganizationTrail {
		o, aerr := s.orgTrailPrerequisites(c)
		if aerr != nil {
			return aerr
		}
		orgID = o.ID
		t.OrganizationID = o.ID
	} else {
		t.OrganizationID = ""
	}
	return s.checkTrailBucket(t.S3BucketName, t.S3KeyPrefix, t.arn(), t.AccountID, orgID)
}

// checkTrailBucket checks, as CloudTrail does when a trail is created or
// updated, that the bucket exists and that its policy lets CloudTrail read
// the bucket ACL and write the trail's logs (the owner's and, for an
// organization trail, the organization's).
func (s *Sandbox) checkTrailBucket(bucketName, prefix, trailARN, ownerID, orgID string) *apiError {
	b := s.st.Buckets[bucketName]
	if b == nil {
		return errf("S3BucketDoesNotExistException", "S3 bucket %s does not exist.", bucketName)
	}
	insufficient := errf("InsufficientS3BucketPolicyException", "Incorrect S3 bucket policy is detected for bucket: %s", bucketName)
	if b.Policy == "" {
		return insufficient
	}
	doc, err := parsePolicy(b.Policy)
	if err != nil {
		return insufficient
	}
	logs := "AWSLogs/"
	if prefix != "" {
		logs = prefix + "/AWSLogs/"
	}
	ctx := map[string][]string{
		"aws:SourceArn":     {trailARN},
		"aws:SourceAccount": {ownerID},
		"s3:x-amz-acl":      {"bucket-owner-full-control"},
	}
	region := strings.Split(trailARN, ":")[3]
	checks := []accessRequest{
		{action: "s3:GetBucketAcl", resource: "arn:aws:s3:::" + bucketName},
		{action: "s3:PutObject", resource: "arn:aws:s3:::" + bucketName + "/" + logs + ownerID + "/CloudTrail/" + region + "/test.json.gz"},
	}
	if orgID != "" {
		checks = append(checks, accessRequest{action: "s3:PutObject", resource: "arn:aws:s3:::" + bucketName + "/" + logs + orgID + "/" + ownerID + "/CloudTrail/" + region + "/test.json.gz"})
	}
	for _, req := range checks {
		req.kind, req.principals, req.context = "Service", []string{cloudTrailPrincipal}, ctx
		if !doc.allows(req) {
			return insufficient
		}
	}
	return nil
}

type createTrailInput struct {
	Name string
	trailSettings
	TagsList []struct{ Key, Value string }
}

func (s *Sandbox) ctCreateTrail(c *caller, req createTrailInput) (any, *apiError) {
	if !validTrailName(req.Name) {
		return nil, errf("InvalidTrailNameException", "Trail name %s is not valid. Trail names must start with a letter or number, end with a letter or number, and contain only letters, numbers, periods, underscores and dashes.", req.Name)
	}
	owner := c.account.ID
	// A delegated administrator's organization trail belongs to the
	// management account.
	if req.IsOrganizationTrail != nil && *req.IsOrganizationTrail {
		if o := s.organizationOf(c.account); o != nil && o.isDelegate(c.account.ID, cloudTrailPrincipal) {
			owner = o.ManagementAccountID
		}
	}
	t := &trail{Name: req.Name, AccountID: owner, Region: c.region, IncludeGlobalServiceEvents: true, CreatedAt: s.now()}
	for _, existing := range s.st.Trails {
		if existing.AccountID == owner && existing.Name == req.Name && (existing.Region == c.region || existing.IsMultiRegionTrail) {
			return nil, errf("TrailAlreadyExistsException", "Trail %s already exists for customer: %s", req.Name, owner)
		}
	}
	count := 0
	for _, existing := range s.st.Trails {
		if existing.AccountID == owner && existing.Region == c.region {
			count++
		}
	}
	if count >= maxTrailsPerRegion {
		return nil, errf("MaximumNumberOfTrailsExceededException", "User: %s already has %d trails in %s.", owner, maxTrailsPerRegion, c.region)
	}
	s.applyTrailSettings(c, t, req.trailSettings)
	for _, tg := range req.TagsList {
		t.Tags = append(t.Tags, tag{Key: tg.Key, Value: tg.Value})
	}
	if aerr := s.validateTrail(c, t); aerr != nil {
		return nil, aerr
	}
	s.st.Trails[t.arn()] = t
	s.dirty = true
	return exportTrail(t, false), nil
}

type updateTrailInput struct {
	Name string
	trailSettings
}

func (s *Sandbox) ctUpdateTrail(c *caller, req updateTrailInput) (any, *apiError) {
	t, aerr := s.mutableTrail(c, req.Name)
	if aerr != nil {
		return nil, aerr
	}
	if t.IsOrganizationTrail && req.IsOrganizationTrail != nil && !*req.IsOrganizationTrail {
		if o := s.organizationOf(c.account); o == nil || o.ManagementAccountID != c.account.ID {
			return nil, errNotManagement()
		}
	}
	updated := *t
	s.applyTrailSettings(c, &updated, req.trailSettings)
	if aerr := s.validateTrail(c, &updated); aerr != nil {
		return nil, aerr
	}
	*t = updated
	s.dirty = true
	return exportTrail(t, false), nil
}

func (s *Sandbox) ctDeleteTrail(c *caller, req trailRequest) (any, *apiError) {
	t, aerr := s.mutableTrail(c, req.Name)
	if aerr != nil {
		return nil, aerr
	}
	delete(s.st.Trails, t.arn())
	s.dirty = true
	return map[string]any{}, nil
}

func (s *Sandbox) ctGetTrail(c *caller, req trailRequest) (any, *apiError) {
	t, aerr := s.findTrail(c, req.Name)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{"Trail": exportTrail(t, true)}, nil
}

type describeTrailsInput struct {
	TrailNameList       []string `json:"trailNameList"`
	IncludeShadowTrails *bool    `json:"includeShadowTrails"`
}

func (s *Sandbox) ctDescribeTrails(c *caller, req describeTrailsInput) (any, *apiError) {
	shadows := req.IncludeShadowTrails == nil || *req.IncludeShadowTrails
	wanted := map[string]bool{}
	for _, n := range req.TrailNameList {
		wanted[n] = true
	}
	out := []trailJSON{}
	for _, arn := range sortedKeys(s.st.Trails) {
		t := s.st.Trails[arn]
		if !s.visibleTrail(c, t) {
			continue
		}
		shadow := t.Region != c.region || t.AccountID != c.account.ID
		if shadow && !shadows {
			continue
		}
		if len(wanted) > 0 && !wanted[arn] && !(wanted[t.Name] && t.AccountID == c.account.ID) {
			continue
		}
		out = append(out, exportTrail(t, true))
	}
	return map[string]any{"trailList": out}, nil
}

type listTrailsInput struct{ NextToken *string }

// ctListTrails lists, as AWS documents, the trails "in the current
// account": the caller's own trails of every region, each with its home
// region, from whichever region it is called. Organization trails of
// another account (the copies in member accounts) are not the caller's and
// are left out; DescribeTrails shows those.
func (s *Sandbox) ctListTrails(c *caller, req listTrailsInput) (any, *apiError) {
	var own []*trail
	for _, arn := range sortedKeys(s.st.Trails) {
		if t := s.st.Trails[arn]; t.AccountID == c.account.ID {
			own = append(own, t)
		}
	}
	start, end, next, aerr := page(len(own), pageRequest{NextToken: req.NextToken}, listTrailsPageSize, nil, func() *apiError {
		return errf("InvalidNextTokenException", "The next token is not valid.")
	})
	if aerr != nil {
		return nil, aerr
	}
	type trailInfo struct {
		TrailARN   string `json:"TrailARN"`
		Name       string `json:"Name"`
		HomeRegion string `json:"HomeRegion"`
	}
	list := []trailInfo{}
	for _, t := range own[start:end] {
		list = append(list, trailInfo{TrailARN: t.arn(), Name: t.Name, HomeRegion: t.Region})
	}
	return withNext(map[string]any{"Trails": list}, next), nil
}

// effectiveLogging is whether t delivers events for c's account: an
// organization trail stops for member accounts while CloudTrail has no
// trusted access to the organization.
func (s *Sandbox) effectiveLogging(c *caller, t *trail) bool {
	if !t.Logging {
		return false
	}
	if t.AccountID == c.account.ID || !t.IsOrganizationTrail {
		return true
	}
	o := s.st.Organizations[t.OrganizationID]
	return o != nil && o.hasMember(c.account.ID) && o.trustedAccess(cloudTrailPrincipal)
}

func (s *Sandbox) ctGetTrailStatus(c *caller, req trailRequest) (any, *apiError) {
	t, aerr := s.findTrail(c, req.Name)
	if aerr != nil {
		return nil, aerr
	}
	logging := s.effectiveLogging(c, t)
	out := map[string]any{"IsLogging": logging}
	if !t.StartLoggingTime.IsZero() {
		out["StartLoggingTime"] = epoch(t.StartLoggingTime)
		if logging {
			out["LatestDeliveryTime"] = epoch(t.StartLoggingTime)
		}
	}
	if !t.StopLoggingTime.IsZero() {
		out["StopLoggingTime"] = epoch(t.StopLoggingTime)
	}
	return out, nil
}

func (s *Sandbox) ctStartLogging(c *caller, req trailRequest) (any, *apiError) {
	return s.ctSetLogging(c, req, true)
}

func (s *Sandbox) ctStopLogging(c *caller, req trailRequest) (any, *apiError) {
	return s.ctSetLogging(c, req, false)
}

func (s *Sandbox) ctSetLogging(c *caller, req struct{ Name string }, on bool) (any, *apiError) {
	t, aerr := s.mutableTrail(c, req.Name)
	if aerr != nil {
		return nil, aerr
	}
	if t.Logging != on {
		t.Logging = on
		if on {
			t.StartLoggingTime = s.now()
		} else {
			t.StopLoggingTime = s.now()
		}
		s.dirty = true
	}
	return map[string]any{}, nil
}

// ctDelegationContext checks what CloudTrail's delegated-administrator
// calls need, the account ID given as the input's member field among them,
// and returns the organization.
func (s *Sandbox) ctDelegationContext(c *caller, field, accountID string) (*organization, *apiError) {
	if !accountIDInput.MatchString(accountID) {
		return nil, errf("InvalidParameterException", "%s %s is not a valid account ID.", field, accountID)
	}
	o := s.organizationOf(c.account)
	if o == nil {
		return nil, errf("OrganizationsNotInUseException", "This account is not a member of an organization.")
	}
	if o.FeatureSet != "ALL" {
		return nil, errf("OrganizationNotInAllFeaturesModeException", "This organization is not in all features mode.")
	}
	if c.account.ID != o.ManagementAccountID {
		return nil, errf("NotOrganizationManagementAccountException", "This operation can be called only from the management account of the organization.")
	}
	if !o.trustedAccess(cloudTrailPrincipal) {
		return nil, errf("CloudTrailAccessNotEnabledException", "This operation is not permitted: trusted access for CloudTrail is not enabled in AWS Organizations.")
	}
	return o, nil
}

// ctDelegationErrors spell, for accountID, the failures of CloudTrail's
// delegated-administrator calls.
func ctDelegationErrors(accountID string) delegationErrors {
	return delegationErrors{
		notMember:        errf("AccountNotFoundException", "Account %s is not found or not part of the organization.", accountID),
		isManagement:     errf("CannotDelegateManagementAccountException", "The management account of an organization cannot be registered as the CloudTrail delegated administrator."),
		accessNotEnabled: errf("CloudTrailAccessNotEnabledException", "This operation is not permitted: trusted access for CloudTrail is not enabled in AWS Organizations."),
		already:          errf("AccountRegisteredException", "Account %s is already registered as the CloudTrail delegated administrator.", accountID),
		limit:            errf("DelegatedAdminAccountLimitExceededException", "The number of CloudTrail delegated administrators is at its limit."),
		notRegistered:    errf("AccountNotRegisteredException", "Account %s is not registered as the CloudTrail delegated administrator.", accountID),
	}
}

// The inputs of CloudTrail's delegated-administrator calls.
type (
	registerOrganizationDelegatedAdminInput struct {
		MemberAccountID string `json:"MemberAccountId"`
	}
	deregisterOrganizationDelegatedAdminInput struct {
		DelegatedAdminAccountID string `json:"DelegatedAdminAccountId"`
	}
)

func (s *Sandbox) ctRegisterOrganizationDelegatedAdmin(c *caller, req registerOrganizationDelegatedAdminInput) (any, *apiError) {
	o, aerr := s.ctDelegationContext(c, "MemberAccountId", req.MemberAccountID)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.delegationDependencies(c, o, req.MemberAccountID); aerr != nil {
		return nil, aerr
	}
	if aerr := s.registerDelegateLocked(o, req.MemberAccountID, cloudTrailPrincipal, ctDelegationErrors(req.MemberAccountID)); aerr != nil {
		return nil, aerr
	}
	return map[string]any{}, s.ensureCloudTrailRole(c)
}

func (s *Sandbox) ctDeregisterOrganizationDelegatedAdmin(c *caller, req deregisterOrganizationDelegatedAdminInput) (any, *apiError) {
	o, aerr := s.ctDelegationContext(c, "DelegatedAdminAccountId", req.DelegatedAdminAccountID)
	if aerr != nil {
		return nil, aerr
	}
	return map[string]any{}, s.deregisterDelegateLocked(o, req.DelegatedAdminAccountID, cloudTrailPrincipal, ctDelegationErrors(req.DelegatedAdminAccountID))
}

type edsJSON struct {
	EventDataStoreArn            string            `json:"EventDataStoreArn"`
	Name                         string            `json:"Name"`
	Status                       string            `json:"Status"`
	AdvancedEventSelectors       []json.RawMessage `json:"AdvancedEventSelectors"`
	MultiRegionEnabled           bool              `json:"MultiRegionEnabled"`
	OrganizationEnabled          bool              `json:"OrganizationEnabled"`
	RetentionPeriod              int               `json:"RetentionPeriod"`
	TerminationProtectionEnabled bool              `json:"TerminationProtectionEnabled"`
	KmsKeyID                     string            `json:"KmsKeyId,omitempty"`
	BillingMode                  string            `json:"BillingMode,omitempty"`
	CreatedTimestamp             *epochSeconds     `json:"CreatedTimestamp"`
	UpdatedTimestamp             *epochSeconds     `json:"UpdatedTimestamp"`
}

func exportEDS(e *eventDataStore) edsJSON {
	return edsJSON{
		EventDataStoreArn:            e.ARN,
		Name:                         e.Name,
		Status:                       e.Status,
		AdvancedEventSelectors:       e.AdvancedEventSelectors,
		MultiRegionEnabled:           e.MultiRegionEnabled,
		OrganizationEnabled:          e.OrganizationEnabled,
		RetentionPeriod:              e.RetentionPeriod,
		TerminationProtectionEnabled: e.TerminationProtectionEnabled,
		KmsKeyID:                     e.KmsKeyID,
		BillingMode:                  e.BillingMode,
		CreatedTimestamp:             epoch(e.CreatedAt),
		UpdatedTimestamp:             epoch(e.UpdatedAt),
	}
}

type createEventDataStoreInput struct {
	Name                         string
	AdvancedEventSelectors       []json.RawMessage
	MultiRegionEnabled           *bool
	OrganizationEnabled          *bool
	RetentionPeriod              *int
	TerminationProtectionEnabled *bool
	KmsKeyID                     string `json:"KmsKeyId"`
	BillingMode                  string
	TagsList                     []struct{ Key, Value string }
}

func (s *Sandbox) ctCreateEventDataStore(c *caller, req createEventDataStoreInput) (any, *apiError) {
	if !edsNamePattern.MatchString(req.Name) {
		return nil, errf("InvalidParameterException", "Event data store name %s is not valid.", req.Name)
	}
	e := &eventDataStore{
		Name:                         req.Name,
		AccountID:                    c.account.ID,
		Region:                       c.region,
		Status:                       "ENABLED",
		AdvancedEventSelectors:       req.AdvancedEventSelectors,
		MultiRegionEnabled:           req.MultiRegionEnabled == nil || *req.MultiRegionEnabled,
		OrganizationEnabled:          req.OrganizationEnabled != nil && *req.OrganizationEnabled,
		RetentionPeriod:              2557,
		TerminationProtectionEnabled: req.TerminationProtectionEnabled == nil || *req.TerminationProtectionEnabled,
		KmsKeyID:                     qualifyKMSKey(req.KmsKeyID, c.region, c.account.ID),
		BillingMode:                  req.BillingMode,
		CreatedAt:                    s.now(),
		UpdatedAt:                    s.now(),
	}
	if len(e.AdvancedEventSelectors) == 0 {
		e.AdvancedEventSelectors = []json.RawMessage{defaultEDSSelectors}
	}
	if e.BillingMode == "" {
		e.BillingMode = "EXTENDABLE_RETENTION_PRICING"
	}
	if e.BillingMode != "EXTENDABLE_RETENTION_PRICING" && e.BillingMode != "FIXED_RETENTION_PRICING" {
		return nil, errf("InvalidParameterException", "BillingMode %s is not valid.", e.BillingMode)
	}
	if req.RetentionPeriod != nil {
		if *req.RetentionPeriod < 7 || *req.RetentionPeriod > 3653 {
			return nil, errf("InvalidParameterException", "RetentionPeriod must be between 7 and 3653 days.")
		}
		e.RetentionPeriod = *req.RetentionPeriod
	}
	count := 0
	for _, existing := range s.st.EventDataStores {
		if existing.AccountID == c.account.ID && existing.Region == c.region {
			if existing.Name == req.Name {
				return nil, errf("EventDataStoreAlreadyExistsException", "An event data store with the name %s already exists.", req.Name)
			}
			count++
		}
	}
	if count >= maxEventDataStoresPerRegion {
		return nil, errf("EventDataStoreMaxLimitExceededException", "Your account has used the maximum number of event data stores.")
	}
	if e.OrganizationEnabled {
		if _, aerr := s.orgTrailPrerequisites(c); aerr != nil {
			return nil, aerr
		}
	}
	e.ARN = "arn:aws:cloudtrail:" + c.region + ":" + c.account.ID + ":eventdatastore/" + s.ids.uuid()
	s.st.EventDataStores[e.ARN] = e
	s.dirty = true
	out := map[string]any{}
	data, _ := json.Marshal(exportEDS(e))
	_ = json.Unmarshal(data, &out)
	if len(req.TagsList) > 0 {
		out["TagsList"] = req.TagsList
	}
	return out, nil
}

type getEventDataStoreInput struct{ EventDataStore string }

func (s *Sandbox) ctGetEventDataStore(c *caller, req getEventDataStoreInput) (any, *apiError) {
	arn := req.EventDataStore
	switch {
	case edsARNPattern.MatchString(arn):
	case edsIDPattern.MatchString(arn):
		arn = "arn:aws:cloudtrail:" + c.region + ":" + c.account.ID + ":eventdatastore/" + arn
	default:
		return nil, errf("EventDataStoreARNInvalidException", "The specified event data store ARN is not valid or does not map to an event data store in your account.")
	}
	e := s.st.EventDataStores[arn]
	if e == nil || e.AccountID != c.account.ID || e.Region != c.region {
		return nil, errf("EventDataStoreNotFoundException", "The specified event data store was not found.")
	}
	return exportEDS(e), nil
}

func (s *Sandbox) ctListEventDataStores(c *caller, req pageRequest) (any, *apiError) {
	now := s.now()
	var visible []*eventDataStore
	for _, e := range s.st.EventDataStores {
		if e.AccountID != c.account.ID || e.Region != c.region {
			continue
		}
		if s.delay > 0 && now.Sub(e.CreatedAt) < s.delay {
			continue
		}
		visible = append(visible, e)
	}
	sort.Slice(visible, func(i, j int) bool {
		if !visible[i].CreatedAt.Equal(visible[j].CreatedAt) {
			return visible[i].CreatedAt.Before(visible[j].CreatedAt)
		}
		return visible[i].ARN < visible[j].ARN
	})
	start, end, next, aerr := page(len(visible), req, 1000, func(int) *apiError {
		return errf("InvalidMaxResultsException", "Maximum number of results is invalid.")
	}, func() *apiError {
		return errf("InvalidNextTokenException", "The next token is not valid.")
	})
	if aerr != nil {
		return nil, aerr
	}
	list := []edsJSON{}
	for _, e := range visible[start:end] {
		list = append(list, exportEDS(e))
	}
	return withNext(map[string]any{"EventDataStores": list}, next), nil
}
