package awssandbox_test

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/trailgate/trailgate/internal/awssandbox"
)

// Requests that change the state are answered only once a save holds
// their change, even when many arrive at once and share saves: a sandbox
// loaded from the file right after the last answer has every change.
func TestEveryAnsweredChangeIsSavedWhenManyArriveAtOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	s, url := served(t, file)
	org, err := s.CreateOrganization(awssandbox.OrganizationSpec{Name: "many", Members: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: staticCreds(org.Management)})

	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.CreateRole(ctx(), &iam.CreateRoleInput{
				RoleName:                 aws.String(fmt.Sprintf("role-%02d", i)),
				AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + org.Management.ID + `:root"},"Action":"sts:AssumeRole"}]}`),
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	_, again := served(t, file)
	c2 := iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(again), Credentials: staticCreds(org.Management)})
	for i := range n {
		if _, err := c2.GetRole(ctx(), iamGetRole(fmt.Sprintf("role-%02d", i))); err != nil {
			t.Errorf("role-%02d was answered as created but is not in the saved state: %v", i, err)
		}
	}
}

// served is a sandbox keeping its state in file, served over HTTP until
// the test ends, and its URL.
func served(t *testing.T, file string) (*awssandbox.Sandbox, string) {
	t.Helper()
	s, err := awssandbox.New(awssandbox.Options{StateFile: file, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv.URL
}
