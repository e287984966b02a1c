package awssandbox

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"hash"
	"hash/crc32"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

var bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func validBucketName(name string) bool {
	return bucketNamePattern.MatchString(name) && !strings.Contains(name, "..") &&
		net.ParseIP(name) == nil && !strings.HasPrefix(name, "xn--") && !strings.HasSuffix(name, "-s3alias")
}

// s3BucketOperations name the operations on a bucket, by the subresource
// the query names and the method.
var s3BucketOperations = map[string]map[string]string{
	"policy": {
		http.MethodPut:    "PutBucketPolicy",
		http.MethodGet:    "GetBucketPolicy",
		http.MethodDelete: "DeleteBucketPolicy",
	},
	"location": {http.MethodGet: "GetBucketLocation"},
	"": {
		http.MethodPut:    "CreateBucket",
		http.MethodHead:   "HeadBucket",
		http.MethodDelete: "DeleteBucket",
	},
}

// s3Operation names the S3 operation of a path-style request.
func s3Operation(r *http.Request) (bucketName, op string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucketName, key, _ := strings.Cut(path, "/")
	q := r.URL.Query()
	if bucketName == "" {
		if r.Method == http.MethodGet {
			return "", "ListBuckets"
		}
		return "", ""
	}
	if key != "" {
		return bucketName, ""
	}
	sub := ""
	switch {
	case q.Has("policy"):
		sub = "policy"
	case q.Has("location"):
		sub = "location"
	default:
		for k := range q {
			if k != "x-id" {
				return bucketName, ""
			}
		}
	}
	return bucketName, s3BucketOperations[sub][r.Method]
}

func (s *Sandbox) serveS3(w http.ResponseWriter, r *http.Request, c *caller, body []byte, reqID string) {
	fail := func(e *apiError) { writeError(w, r, protoS3, "s3", reqID, e) }
	bucketName, op := s3Operation(r)
	if op == "" {
		fail(errStatus(501, "NotImplemented", "A header you provided implies functionality that is not implemented"))
		return
	}
	if strings.Contains(r.Header.Get("Content-Encoding"), "aws-chunked") || strings.HasPrefix(r.Header.Get("X-Amz-Content-Sha256"), "STREAMING-") {
		decoded, err := decodeAWSChunked(body)
		if err != nil {
			fail(errf("IncompleteBody", "The request body terminated unexpectedly"))
			return
		}
		body = decoded
	}
	if aerr := checkS3Digests(r, body); aerr != nil {
		fail(aerr)
		return
	}
	var status int
	var headers map[string]string
	var out []byte
	if !s.runOperation(w, r, c, protoS3, reqID, op, func() (aerr *apiError) {
		status, headers, out, aerr = s.s3Dispatch(c, op, bucketName, body)
		return aerr
	}) {
		return
	}
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("X-Amz-Request-Id", reqID)
	w.Header().Set("X-Amz-Id-2", hostID(reqID))
	if out != nil {
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	} else {
		w.Header().Set("Content-Length", "0")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead && out != nil {
		_, _ = w.Write(out)
	}
}

// checkS3Digests verifies Content-MD5 and x-amz-checksum-* headers against
// the body, as S3 does.
func checkS3Digests(r *http.Request, body []byte) *apiError {
	if v := r.Header.Get("Content-Md5"); v != "" {
		want, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(want) != md5.Size {
			return errf("InvalidDigest", "The Content-MD5 you specified was invalid.")
		}
		if got := md5.Sum(body); !bytes.Equal(got[:], want) {
			return errf("BadDigest", "The Content-MD5 you specified did not match what we received.")
		}
	}
	checks := map[string]func() hash.Hash{
		"X-Amz-Checksum-Crc32":  func() hash.Hash { return crc32.NewIEEE() },
		"X-Amz-Checksum-Crc32c": func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
		"X-Amz-Checksum-Sha1":   sha1.New,
		"X-Amz-Checksum-Sha256": sha256.New,
	}
	for _, name := range sortedKeys(checks) {
		v := r.Header.Get(name)
		if v == "" {
			continue
		}
		h := checks[name]()
		h.Write(body)
		if base64.StdEncoding.EncodeToString(h.Sum(nil)) != v {
			algo := strings.ToUpper(strings.TrimPrefix(name, "X-Amz-Checksum-"))
			return errf("BadDigest", "The %s you specified did not match the calculated checksum.", algo)
		}
	}
	return nil
}

func noSuchBucket(name string) *apiError {
	return errStatus(404, "NoSuchBucket", "The specified bucket does not exist").with("BucketName", name)
}

func s3AccessDenied() *apiError { return errStatus(403, "AccessDenied", "Access Denied") }

// ownerBucket resolves a bucket only its owner may see, from any region.
func (s *Sandbox) ownerBucket(c *caller, name string) (*bucket, *apiError) {
	b := s.st.Buckets[name]
	if b == nil {
		return nil, noSuchBucket(name)
	}
	if b.Owner != c.account.ID {
		return nil, s3AccessDenied()
	}
	return b, nil
}

// ownedBucket resolves a bucket for an operation only its owner may do, in
// the bucket's own region.
func (s *Sandbox) ownedBucket(c *caller, name string) (*bucket, *apiError) {
	b := s.st.Buckets[name]
	if b == nil {
		return nil, noSuchBucket(name)
	}
	if b.Region != c.region {
		return nil, errf("AuthorizationHeaderMalformed", "The authorization header is malformed; the region '%s' is wrong; expecting '%s'", c.region, b.Region).with("Region", b.Region)
	}
	if b.Owner != c.account.ID {
		return nil, s3AccessDenied()
	}
	return b, nil
}

func (s *Sandbox) s3Dispatch(c *caller, op, name string, body []byte) (int, map[string]string, []byte, *apiError) {
	switch op {
	case "ListBuckets":
		return s.s3ListBuckets(c)
	case "CreateBucket":
		return s.s3CreateBucket(c, name, body)
	case "HeadBucket":
		b, aerr := s.ownerBucket(c, name)
		if aerr != nil {
			return 0, nil, nil, aerr
		}
		if b.Region != c.region {
			return 0, nil, nil, errf("AuthorizationHeaderMalformed", "the region '%s' is wrong; expecting '%s'", c.region, b.Region)
		}
		return 200, map[string]string{"X-Amz-Bucket-Region": b.Region, "X-Amz-Access-Point-Alias": "false"}, nil, nil
	case "GetBucketLocation":
		b, aerr := s.ownerBucket(c, name)
		if aerr != nil {
			return 0, nil, nil, aerr
		}
		loc := b.Region
		if loc == "us-east-1" {
			loc = ""
		}
		out := xml.Header + `<LocationConstraint xmlns="` + s3Namespace + `">` + loc + `</LocationConstraint>`
		return 200, map[string]string{"Content-Type": "application/xml"}, []byte(out), nil
	}
	// The other operations are the owner's, in the bucket's own region.
	b, aerr := s.ownedBucket(c, name)
	if aerr != nil {
		return 0, nil, nil, aerr
	}
	switch op {
	case "DeleteBucket":
		delete(s.st.Buckets, b.Name)
		s.dirty = true
		return http.StatusNoContent, nil, nil, nil
	case "PutBucketPolicy":
		if aerr := validateBucketPolicy(b.Name, string(body)); aerr != nil {
			return 0, nil, nil, aerr
		}
		b.Policy = string(body)
		s.dirty = true
		return http.StatusNoContent, nil, nil, nil
	case "GetBucketPolicy":
		if b.Policy == "" {
			return 0, nil, nil, errStatus(404, "NoSuchBucketPolicy", "The bucket policy does not exist").with("BucketName", name)
		}
		return 200, map[string]string{"Content-Type": "application/json"}, []byte(b.Policy), nil
	case "DeleteBucketPolicy":
		b.Policy = ""
		s.dirty = true
		return http.StatusNoContent, nil, nil, nil
	}
	return 0, nil, nil, errStatus(501, "NotImplemented", "A header you provided implies functionality that is not implemented")
}

func (s *Sandbox) s3CreateBucket(c *caller, name string, body []byte) (int, map[string]string, []byte, *apiError) {
	if !validBucketName(name) {
		return 0, nil, nil, errf("InvalidBucketName", "The specified bucket is not valid.").with("BucketName", name)
	}
	location := ""
	if len(bytes.TrimSpace(body)) > 0 {
		var cfg struct {
			XMLName            xml.Name `xml:"CreateBucketConfiguration"`
			LocationConstraint string   `xml:"LocationConstraint"`
		}
		if err := xml.Unmarshal(body, &cfg); err != nil {
			return 0, nil, nil, errf("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
		}
		location = cfg.LocationConstraint
	}
	switch {
	case location == "" && c.region != "us-east-1":
		return 0, nil, nil, errf("IllegalLocationConstraintException", "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
	case location == "us-east-1":
		return 0, nil, nil, errf("InvalidLocationConstraint", "The specified location-constraint is not valid").with("LocationConstraint", location)
	case location != "" && location != c.region:
		return 0, nil, nil, errf("IllegalLocationConstraintException", "The %s location constraint is incompatible for the region specific endpoint this request was sent to.", location)
	}
	if b := s.st.Buckets[name]; b != nil {
		if b.Owner != c.account.ID {
			return 0, nil, nil, errStatus(409, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.").with("BucketName", name)
		}
		// In us-east-1, re-creating one's own bucket succeeds, for
		// compatibility with S3's oldest behaviour.
		if c.region == "us-east-1" && b.Region == "us-east-1" {
			return 200, map[string]string{"Location": "/" + name}, nil, nil
		}
		return 0, nil, nil, errStatus(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.").with("BucketName", name)
	}
	s.st.Buckets[name] = &bucket{Name: name, Owner: c.account.ID, Region: c.region, CreatedAt: s.now()}
	s.dirty = true
	return 200, map[string]string{"Location": "/" + name}, nil, nil
}

func (s *Sandbox) s3ListBuckets(c *caller) (int, map[string]string, []byte, *apiError) {
	type xmlBucket struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
		BucketRegion string `xml:"BucketRegion"`
	}
	var out struct {
		XMLName xml.Name `xml:"ListAllMyBucketsResult"`
		Xmlns   string   `xml:"xmlns,attr"`
		Owner   struct {
			ID string `xml:"ID"`
		} `xml:"Owner"`
		Buckets []xmlBucket `xml:"Buckets>Bucket"`
	}
	out.Xmlns = s3Namespace
	out.Owner.ID = ownerCanonicalID(c.account.ID)
	var names []string
	for name, b := range s.st.Buckets {
		if b.Owner == c.account.ID {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		b := s.st.Buckets[name]
		out.Buckets = append(out.Buckets, xmlBucket{Name: name, CreationDate: isoTime(b.CreatedAt), BucketRegion: b.Region})
	}
	data, err := xml.Marshal(out)
	if err != nil {
		return 0, nil, nil, errStatus(500, "InternalError", "We encountered an internal error. Please try again.")
	}
	return 200, map[string]string{"Content-Type": "application/xml"}, append([]byte(xml.Header), data...), nil
}

// ownerCanonicalID is a stable 64-hex-digit canonical user ID per account.
func ownerCanonicalID(accountID string) string {
	sum := sha256.Sum256([]byte("canonical-user/" + accountID))
	var b strings.Builder
	for i := 0; i < 32; i += 8 {
		b.WriteString(strconv.FormatUint(binary.BigEndian.Uint64(sum[i:i+8]), 16))
	}
	return b.String()
}

// validateBucketPolicy checks a bucket policy as S3 does on PutBucketPolicy.
func validateBucketPolicy(bucketName, text string) *apiError {
	return checkResourcePolicy(text, "MalformedPolicy", "Missing required field Principal", func(st policyStatement) *apiError {
		for _, a := range append(append([]string{}, st.Action...), st.NotAction...) {
			if a != "*" && !strings.HasPrefix(strings.ToLower(a), "s3:") {
				return errf("MalformedPolicy", "Policy has invalid action")
			}
		}
		resources := append(append([]string{}, st.Resource...), st.NotResource...)
		if len(resources) == 0 {
			return errf("MalformedPolicy", "Missing required field Resource")
		}
		for _, res := range resources {
			rest, ok := strings.CutPrefix(res, "arn:aws:s3:::")
			if !ok {
				return errf("MalformedPolicy", "Policy has invalid resource")
			}
			b, _, _ := strings.Cut(rest, "/")
			if b != bucketName && !wildMatch(b, bucketName, false) {
				return errf("MalformedPolicy", "Policy has invalid resource")
			}
		}
		return nil
	})
}
