package activities

import (
	"fmt"
	"strings"
)

// What trailgate reads in the names AWS gives: the parts of ARNs, the user
// names CloudTrail logs, and the tools that trail names hint at.

// trailARN is the ARN a trail gets when it is created in region: trailgate
// builds it only for a trail it is about to create; every other trail is
// addressed by the ARN AWS gives it.
func trailARN(region, account, name string) string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", region, account, name)
}

// regionOf is the region of an ARN (arn:partition:service:region:...), or
// empty.
func regionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[3]
}

// trailName is the name in a trail's ARN (...:trail/name).
func trailName(arn string) string {
	_, name, _ := strings.Cut(arn, ":trail/")
	return name
}

// ownerHint names the tool that a trail's name says owns it.
func ownerHint(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasPrefix(n, "aws-controltower"):
		return "AWS Control Tower"
	case strings.Contains(n, "awsaccelerator") || strings.Contains(n, "aws-accelerator"):
		return "Landing Zone Accelerator"
	case strings.Contains(n, "terraform") || strings.HasPrefix(n, "tf-"):
		return "Terraform"
	}
	return ""
}

// usernameOf is CloudTrail's user name for a caller ARN: the session name
// of an assumed role (assumed-role/<role>/<session>), the name of a user
// (user/<path>/<name>), root for the account itself.
func usernameOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	resource := parts[len(parts)-1]
	if i := strings.LastIndex(resource, "/"); i >= 0 {
		return resource[i+1:]
	}
	return resource
}
