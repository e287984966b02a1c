// Package uitest checks, in a real browser, what people see of trailgate's
// changes in the Temporal UI of the dev default: the workflows a change
// lists, their summaries and current details, and what waits for whom.
// It has tests only; they need Chromium (apt-get install chromium).
package uitest
