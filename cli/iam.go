package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// maxInputBytes bounds what an iam command reads from a file or stdin (a policy document, a
// public key, a password): the server refuses far less.
const maxInputBytes = 1 << 20

func (c *cli) newIAMCommand() *cobra.Command {
	cmd := nounCommand("iam", "Manage users, groups, policies, roles, SSH keys and personal tokens",
		`  echo "$PASSWORD" | slipway iam user create alice --password-stdin
  slipway iam group create deployers
  slipway iam group add-user deployers alice
  slipway iam policy create shop-deploy --document shop-deploy.json
  slipway iam policy attach shop-deploy --group deployers
  slipway iam simulate --principal user/alice --action codedeploy:CreateDeployment --resource srn:slipway:codedeploy:app/shop`)
	cmd.Long = `Identity and access: users (who sign in), groups of users, policies (JSON or YAML documents
that allow or deny actions on resources, AWS IAM style) attached to users, groups, service
tokens and roles; roles that trusted principals assume for temporary credentials; users' SSH
public keys, personal access tokens and MFA devices. 'slipway iam simulate' shows what a principal may do and
which statement decides it; 'slipway iam report active-users' counts who used the cluster in a
month.`
	cmd.AddCommand(
		c.newIAMUserCommand(),
		c.newIAMGroupCommand(),
		c.newIAMPolicyCommand(),
		c.newIAMTokenCommand(),
		c.newIAMKeyCommand(),
		c.newIAMRoleCommand(),
		c.newIAMSimulateCommand(),
		c.newIAMMFACmd(),
	)
	c.addIAMReport(cmd)
	return cmd
}

// readInput reads a file given on the command line, or stdin for "-". what names it in errors
// ("--document", "PUBLIC_KEY_FILE").
func readInput(cmd *cobra.Command, what, path string) (string, error) {
	var r io.Reader
	if path == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		defer func() { _ = f.Close() }()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return "", fmt.Errorf("%s: read %s: %w", what, path, err)
	}
	if len(b) > maxInputBytes {
		return "", usagef("%s: %s is over %d bytes", what, path, maxInputBytes)
	}
	return string(b), nil
}

// readPasswordStdin reads a password from stdin: its first line, without the line ending, so
// `echo "$PW" | ...` and a file both work. An empty one is a usage error.
func readPasswordStdin(cmd *cobra.Command) (string, error) {
	b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
	if err != nil {
		return "", fmt.Errorf("--password-stdin: read stdin: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", usagef("--password-stdin: stdin holds no password (give it on the first line)")
	}
	return pw, nil
}

// joinNames lists names for a table cell.
func joinNames(names []string) string { return strings.Join(names, ", ") }
