package cli

import (
	"crypto/x509"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/pkg/tlsutil"
)

// The files `slipway tls ca create` writes in its --out folder, and `tls cert create --ca` reads.
const (
	caCertFileName = "ca.pem"
	caKeyFileName  = "ca-key.pem"
	maxCertDays    = 100 * 365
)

func (c *cli) newTLSCommand() *cobra.Command {
	cmd := nounCommand("tls", "Make the certificates of a cluster: a CA, server, client and CLI certificates",
		`  slipway tls ca create --out tls
  slipway tls cert create --server --ca tls --name server-1 --ip 10.0.0.1 --out tls
  slipway tls cert create --cli --ca tls --name alice --out tls`)
	cmd.Long = `A Slipway cluster trusts one certificate authority (CA). Its certificate (ca.pem) goes to every
server, agent and client; its key (ca-key.pem) signs certificates and belongs offline, or on the
servers only when they issue host certificates to agents.

Server certificates are valid for loopback, for the name every server checks on its peers
(` + tlsutil.ServerName + `) and for the names and addresses given with --dns and --ip. Servers
present them to clients and to each other on the cluster port. Client and CLI certificates
authenticate callers of the HTTP API when the servers require client certificates; they are
refused on the cluster port.

These commands work on local files only; they never talk to a cluster.`
	ca := nounCommand("ca", "Create the cluster's certificate authority", `  slipway tls ca create --out tls`)
	ca.AddCommand(c.newTLSCACreateCommand())
	cert := nounCommand("cert", "Issue a server, client or CLI certificate signed by the cluster CA",
		`  slipway tls cert create --server --ca tls --name server-1 --ip 10.0.0.1 --out tls`)
	cert.AddCommand(c.newTLSCertCreateCommand())
	cmd.AddCommand(ca, cert)
	return cmd
}

// caResult is what `tls ca create --output json` prints.
type caResult struct {
	CertFile string    `json:"cert_file"`
	KeyFile  string    `json:"key_file"`
	Name     string    `json:"name"`
	Pin      string    `json:"pin"`
	NotAfter time.Time `json:"not_after"`
}

func (c *cli) newTLSCACreateCommand() *cobra.Command {
	var (
		out, name string
		days      int
	)
	cmd := &cobra.Command{
		Use:   "create --out DIR [--name NAME] [--days N]",
		Short: "Create a cluster CA: DIR/ca.pem and DIR/ca-key.pem",
		Long: `Create a new certificate authority for one cluster. It writes DIR/ca.pem (the CA certificate)
and DIR/ca-key.pem (its private key, mode 0600) and prints the CA pin, the SHA-256 of the CA's
public key, which agents may be given instead of the CA file. It never overwrites either file.`,
		Example: `  slipway tls ca create --out /etc/slipway/tls
  slipway tls ca create --out tls --name "Acme prod CA" --days 3650 --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(out) == "" {
				return usagef("--out is required: the folder to write ca.pem and ca-key.pem in")
			}
			if days < 1 || days > maxCertDays {
				return usagef("invalid --days %d: want 1 to %d", days, maxCertDays)
			}
			p, err := c.printer()
			if err != nil {
				return err
			}
			ca, err := tlsutil.NewCA(name, time.Duration(days)*24*time.Hour)
			if err != nil {
				return err
			}
			if err := ca.WriteFiles(out); err != nil {
				return fmt.Errorf("write the CA: %w", err)
			}
			res := caResult{CertFile: filepath.Join(out, caCertFileName), KeyFile: filepath.Join(out, caKeyFileName),
				Name: ca.Cert.Subject.CommonName, Pin: ca.Pin(), NotAfter: ca.Cert.NotAfter.UTC()}
			if p.json() {
				return p.JSON(res)
			}
			if err := p.Fields([]field{
				{"CA certificate", res.CertFile + " (give it to servers, agents and clients)"},
				{"CA key", res.KeyFile + " (mode 0600: keep it secret, offline if you can)"},
				{"Name", res.Name},
				{"Pin", res.Pin},
				{"Expires", formatTime(res.NotAfter)},
			}); err != nil {
				return err
			}
			return p.Linef(`
Next, issue a certificate for each server, with every address clients and peers reach it by:
  slipway tls cert create --server --ca %[1]s --name server-1 --ip 10.0.0.1 --out %[1]s
and, if the API will require client certificates, one for each CLI user:
  slipway tls cert create --cli --ca %[1]s --name alice --out %[1]s
Clients trust the cluster with: export SLIPWAY_CACERT=%[2]s`, out, res.CertFile)
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "folder to write ca.pem and ca-key.pem in; created when missing (required)")
	f.StringVar(&name, "name", "Slipway CA", "common name of the CA certificate")
	f.IntVar(&days, "days", int(tlsutil.DefaultCAValidity/(24*time.Hour)), "days the CA is valid")
	_ = cmd.MarkFlagDirname("out")
	_ = cmd.RegisterFlagCompletionFunc("name", cobra.NoFileCompletions)
	_ = cmd.RegisterFlagCompletionFunc("days", cobra.NoFileCompletions)
	return cmd
}

// certResult is what `tls cert create --output json` prints.
type certResult struct {
	Kind        string    `json:"kind"`
	Name        string    `json:"name"`
	CertFile    string    `json:"cert_file"`
	KeyFile     string    `json:"key_file"`
	DNSNames    []string  `json:"dns_names"`
	IPAddresses []string  `json:"ip_addresses"`
	NotAfter    time.Time `json:"not_after"`
}

func (c *cli) newTLSCertCreateCommand() *cobra.Command {
	var (
		server, client, cliCert bool
		caDir, name, out        string
		dns, ips                []string
		days                    int
	)
	cmd := &cobra.Command{
		Use:   "create --server|--client|--cli --ca DIR --name NAME --out DIR [--dns NAME ...] [--ip IP ...]",
		Short: "Issue a certificate: DIR/NAME.pem and DIR/NAME-key.pem",
		Long: `Issue a certificate signed by the cluster CA in --ca (its ca.pem and ca-key.pem) and write
DIR/NAME.pem and DIR/NAME-key.pem (mode 0600). It never overwrites either file.

  --server  for a server: valid for 127.0.0.1, ::1, localhost, ` + tlsutil.ServerName + ` and every
            --dns and --ip given. Give each address and name clients, agents and other servers
            use to reach this server.
  --client  for programs calling the API where servers require client certificates.
  --cli     for people using the slipway CLI there (--client-cert, --client-key).`,
		Example: `  slipway tls cert create --server --ca tls --name server-1 --ip 10.0.0.1 --dns s1.example.com --out tls
  slipway tls cert create --cli --ca tls --name alice --out ~/.slipway
  slipway tls cert create --client --ca tls --name ci --out tls --days 90 --output json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var kinds []string
			var kind tlsutil.Kind
			for _, k := range []struct {
				set  bool
				flag string
				kind tlsutil.Kind
			}{{server, "--server", tlsutil.KindServer}, {client, "--client", tlsutil.KindClient}, {cliCert, "--cli", tlsutil.KindCLI}} {
				if k.set {
					kinds = append(kinds, k.flag)
					kind = k.kind
				}
			}
			switch {
			case len(kinds) == 0:
				return usagef("say what the certificate is for: one of --server, --client or --cli")
			case len(kinds) > 1:
				return usagef("%s cannot be combined: a certificate is for one of --server, --client or --cli", strings.Join(kinds, " and "))
			case strings.TrimSpace(caDir) == "":
				return usagef("--ca is required: the folder holding %s and %s (slipway tls ca create --out)", caCertFileName, caKeyFileName)
			case strings.TrimSpace(out) == "":
				return usagef("--out is required: the folder to write NAME.pem and NAME-key.pem in")
			case kind != tlsutil.KindServer && (len(dns) > 0 || len(ips) > 0):
				return usagef("--dns and --ip are for --server certificates only")
			case days < 1 || days > maxCertDays:
				return usagef("invalid --days %d: want 1 to %d", days, maxCertDays)
			}
			if err := checkCertName(name); err != nil {
				return err
			}
			req := tlsutil.Request{Kind: kind, Name: name, Validity: time.Duration(days) * 24 * time.Hour}
			for _, d := range dns {
				d = strings.TrimSpace(d)
				if d == "" || strings.ContainsAny(d, " /:@") {
					return usagef("invalid --dns %q: want a host name such as s1.example.com", d)
				}
				req.DNS = append(req.DNS, d)
			}
			for _, s := range ips {
				ip := net.ParseIP(strings.TrimSpace(s))
				if ip == nil {
					return usagef("invalid --ip %q: want an IP address such as 10.0.0.1 or fd00::1", s)
				}
				req.IPs = append(req.IPs, ip)
			}
			p, err := c.printer()
			if err != nil {
				return err
			}
			ca, err := tlsutil.LoadCA(filepath.Join(caDir, caCertFileName), filepath.Join(caDir, caKeyFileName))
			if err != nil {
				return fmt.Errorf("load the CA from --ca %s: %w (it needs %s and %s, as slipway tls ca create writes them)",
					caDir, err, caCertFileName, caKeyFileName)
			}
			if err := ca.IssueFiles(req, out, name); err != nil {
				return fmt.Errorf("issue the certificate: %w", err)
			}
			res := certResult{Kind: kind.String(), Name: name,
				CertFile: filepath.Join(out, name+".pem"), KeyFile: filepath.Join(out, name+"-key.pem")}
			certs, err := tlsutil.ReadCerts(res.CertFile)
			if err != nil {
				return err
			}
			fillCertResult(&res, certs[0])
			if p.json() {
				return p.JSON(res)
			}
			if err := p.Fields([]field{
				{"Certificate", res.CertFile},
				{"Key", res.KeyFile + " (mode 0600)"},
				{"Kind", res.Kind},
				{"Valid for", strings.Join(append(append([]string{}, res.DNSNames...), res.IPAddresses...), ", ")},
				{"Expires", formatTime(res.NotAfter)},
			}); err != nil {
				return err
			}
			caFile := filepath.Join(caDir, caCertFileName)
			switch kind {
			case tlsutil.KindServer:
				return p.Linef("\nStart the server with:\n  slipway server --tls-ca-file %s --tls-cert-file %s --tls-key-file %s ...",
					caFile, res.CertFile, res.KeyFile)
			default:
				return p.Linef("\nUse it with:\n  export SLIPWAY_CACERT=%s SLIPWAY_CLIENT_CERT=%s SLIPWAY_CLIENT_KEY=%s",
					caFile, res.CertFile, res.KeyFile)
			}
		},
	}
	f := cmd.Flags()
	f.BoolVar(&server, "server", false, "a server certificate")
	f.BoolVar(&client, "client", false, "an API client certificate")
	f.BoolVar(&cliCert, "cli", false, "a CLI certificate")
	f.StringVar(&caDir, "ca", "", "folder holding ca.pem and ca-key.pem (required)")
	f.StringVar(&name, "name", "", "certificate name, also the file name: NAME.pem and NAME-key.pem (required)")
	f.StringVar(&out, "out", "", "folder to write the certificate and key in; created when missing (required)")
	f.StringArrayVar(&dns, "dns", nil, "DNS name the server certificate is also valid for (repeatable)")
	f.StringArrayVar(&ips, "ip", nil, "IP address the server certificate is also valid for (repeatable)")
	f.IntVar(&days, "days", int(tlsutil.DefaultCertValidity/(24*time.Hour)), "days the certificate is valid (never past the CA's expiry)")
	_ = cmd.MarkFlagDirname("ca")
	_ = cmd.MarkFlagDirname("out")
	for _, n := range []string{"name", "dns", "ip", "days"} {
		_ = cmd.RegisterFlagCompletionFunc(n, cobra.NoFileCompletions)
	}
	return cmd
}

// checkCertName refuses a --name that is not a plain file name: it becomes NAME.pem in --out.
func checkCertName(name string) error {
	if name == "" {
		return usagef("--name is required: it names the certificate and its files")
	}
	if len(name) > 64 {
		return usagef("invalid --name: at most 64 characters")
	}
	for _, r := range name {
		if !certNameRune(r) {
			return usagef("invalid --name %q: use letters, digits, '-', '_' and '.' only (it becomes a file name)", name)
		}
	}
	if strings.HasPrefix(name, ".") {
		return usagef("invalid --name %q: must not start with '.'", name)
	}
	return nil
}

func certNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}

func fillCertResult(res *certResult, cert *x509.Certificate) {
	res.DNSNames = append([]string{}, cert.DNSNames...)
	res.IPAddresses = []string{}
	for _, ip := range cert.IPAddresses {
		res.IPAddresses = append(res.IPAddresses, ip.String())
	}
	res.NotAfter = cert.NotAfter.UTC()
}
