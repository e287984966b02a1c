package awssandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// apiError is an AWS error as a service puts it on the wire.
type apiError struct {
	Code    string
	Message string
	Status  int
	// Fields are extra members of the error shape: Reason or Type for
	// Organizations, BucketName or Region for S3.
	Fields [][2]string
	// Receiver marks a server-side fault in the Query protocol's Type.
	Receiver bool
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func (e *apiError) with(name, value string) *apiError {
	e.Fields = append(e.Fields, [2]string{name, value})
	return e
}

// errf builds an error with status 400, the status of most AWS client errors.
func errf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func errStatus(status int, code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: status, Receiver: status >= 500}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// The protocols the services speak.
type protocol int

const (
	protoJSON protocol = iota
	protoQuery
	protoS3
)

// xmlNamespaces of the Query services' responses.
var xmlNamespaces = map[string]string{
	"iam": "https://iam.amazonaws.com/doc/2010-05-08/",
	"sts": "https://sts.amazonaws.com/doc/2011-06-15/",
}

// writeError puts err on the wire in the shape of proto.
func writeError(w http.ResponseWriter, r *http.Request, proto protocol, service string, reqID string, err *apiError) {
	noteError(w, err)
	switch proto {
	case protoJSON:
		body := map[string]any{"__type": err.Code, "Message": err.Message}
		for _, f := range err.Fields {
			body[f[0]] = f[1]
		}
		data, _ := json.Marshal(body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-RequestId", reqID)
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(err.Status)
		_, _ = w.Write(data)
	case protoQuery:
		typ := "Sender"
		if err.Receiver {
			typ = "Receiver"
		}
		var buf bytes.Buffer
		ns := xmlNamespaces[service]
		if ns == "" {
			ns = xmlNamespaces["iam"]
		}
		fmt.Fprintf(&buf, `<ErrorResponse xmlns="%s">`+"\n", ns)
		buf.WriteString("  <Error>\n")
		fmt.Fprintf(&buf, "    <Type>%s</Type>\n", typ)
		fmt.Fprintf(&buf, "    <Code>%s</Code>\n", xmlEscape(err.Code))
		fmt.Fprintf(&buf, "    <Message>%s</Message>\n", xmlEscape(err.Message))
		buf.WriteString("  </Error>\n")
		fmt.Fprintf(&buf, "  <RequestId>%s</RequestId>\n", reqID)
		buf.WriteString("</ErrorResponse>\n")
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("X-Amzn-RequestId", reqID)
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(err.Status)
		_, _ = w.Write(buf.Bytes())
	default:
		w.Header().Set("X-Amz-Request-Id", reqID)
		w.Header().Set("X-Amz-Id-2", hostID(reqID))
		if r.Method == http.MethodHead {
			// HEAD responses carry no body; the status says it all.
			w.WriteHeader(err.Status)
			return
		}
		var buf bytes.Buffer
		buf.WriteString(xml.Header)
		buf.WriteString("<Error>")
		fmt.Fprintf(&buf, "<Code>%s</Code>", xmlEscape(err.Code))
		fmt.Fprintf(&buf, "<Message>%s</Message>", xmlEscape(err.Message))
		for _, f := range err.Fields {
			fmt.Fprintf(&buf, "<%s>%s</%s>", f[0], xmlEscape(f[1]), f[0])
		}
		fmt.Fprintf(&buf, "<RequestId>%s</RequestId>", reqID)
		fmt.Fprintf(&buf, "<HostId>%s</HostId>", hostID(reqID))
		buf.WriteString("</Error>")
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(err.Status)
		_, _ = w.Write(buf.Bytes())
	}
}

func hostID(reqID string) string {
	return hex.EncodeToString([]byte(reqID))[:32]
}

func xmlEscape(s string) string {
	var buf bytes.Buffer
	_ = xml.EscapeText(&buf, []byte(s))
	return buf.String()
}

// writeJSON writes a JSON 1.1 success response; a nil body is an empty body.
func writeJSON(w http.ResponseWriter, reqID string, body any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", reqID)
	if body == nil {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	data, err := json.Marshal(body)
	if err != nil {
		writeError(w, nil, protoJSON, "", reqID, errStatus(500, "InternalFailure", "encode response: %v", err))
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// queryResult is the body of a Query response's <Action>Result element.
type queryResult interface{}

// queryList is a list in a Query response: one <member> element an item.
type queryList[T any] struct {
	Members []T `xml:"member"`
}

// writeQuery writes a Query success response:
// <ActionResponse><ActionResult>…</ActionResult><ResponseMetadata/></ActionResponse>.
func writeQuery(w http.ResponseWriter, service, action, reqID string, result queryResult) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `<%sResponse xmlns="%s">`+"\n", action, xmlNamespaces[service])
	if result != nil {
		var inner bytes.Buffer
		enc := xml.NewEncoder(&inner)
		enc.Indent("  ", "  ")
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			writeError(w, nil, protoQuery, service, reqID, errStatus(500, "ServiceFailure", "encode response: %v", err))
			return
		}
		buf.WriteString("  ")
		buf.Write(inner.Bytes())
		buf.WriteString("\n")
	}
	fmt.Fprintf(&buf, "  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  </ResponseMetadata>\n", reqID)
	fmt.Fprintf(&buf, "</%sResponse>\n", action)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// epochSeconds is a JSON 1.1 timestamp: seconds since the epoch, with
// milliseconds.
type epochSeconds time.Time

func (t epochSeconds) MarshalJSON() ([]byte, error) {
	ms := time.Time(t).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)), nil
}

func epoch(t time.Time) *epochSeconds {
	if t.IsZero() {
		return nil
	}
	e := epochSeconds(t)
	return &e
}

// isoTime is the timestamp format of the XML protocols.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
