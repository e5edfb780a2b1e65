package console

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/auth"
	"github.com/slipwayhq/slipway/server/core/fault"
	"rsc.io/qr"
)

// mfaData is the MFA page's, in one of its steps: the state (off, on), an enrolment to confirm
// (the QR code and the secret, shown on this answer only), or the recovery codes (shown once).
type mfaData struct {
	Enabled    bool
	CanDisable bool // MFA is on and this session may turn it off (it was opened with MFA)
	Enrolment  *pub.MFAEnrollment
	QR         template.URL // a data: URI of the QR code's PNG
	Recovery   []string
	Error      string
}

// iamMFA shows whether the signed-in user has MFA on, and the button that starts an enrolment.
func (m *Module) iamMFA(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	u, err := m.acl.Identity().GetUser(r.Context(), id.Token.User)
	if err != nil {
		return err
	}
	return m.renderMFA(w, r, id, http.StatusOK, mfaData{Enabled: u.MFAEnabled})
}

// renderMFA renders the MFA page's state step, with the off button when the self-service
// policy allows it to this session.
func (m *Module) renderMFA(w http.ResponseWriter, r *http.Request, id *auth.Identity, status int, d mfaData) error {
	d.CanDisable = d.Enabled && m.core.HTTP.Allowed(r, id, "iam:DeactivateMFADevice", "user/"+id.Token.User)
	return m.render(w, status, "iam_mfa", frame(r, id.Token.User, "Multi-factor authentication", d))
}

// iamMFADisable turns the signed-in user's MFA off (the device and its recovery codes), as
// `slipway iam mfa disable` does; the edge allows it only to a session opened with MFA.
func (m *Module) iamMFADisable(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	if err := m.acl.Identity().DisableMFA(ctx, id.Token.User); err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderMFA(w, r, id, formStatus(err), mfaData{Error: errText(err)})
	}
	return seeOther(w, r, "/ui/iam/mfa")
}

// iamMFAEnroll starts an enrolment for the signed-in user and shows the QR code of its otpauth
// URL, rendered here, with the secret for typing in, and the form confirming it with a code.
// The secret is in this answer only (no-store), never in a log or the audit trail.
func (m *Module) iamMFAEnroll(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	e, err := m.acl.Identity().EnrollMFA(ctx, id.Token.User)
	if err != nil {
		if !formFailed(err) {
			return err
		}
		return m.renderMFA(w, r, id, formStatus(err), mfaData{Enabled: true, Error: errText(err)})
	}
	e.QR = ""
	d := mfaData{Enrolment: &e}
	if d.QR, err = qrDataURI(e.OTPAuthURL); err != nil {
		d.QR = "" // the secret still works, typed in
	}
	return m.render(w, http.StatusOK, "iam_mfa", frame(r, id.Token.User, "Multi-factor authentication", d))
}

// iamMFAConfirm confirms the enrolment with a code and shows the recovery codes, once.
func (m *Module) iamMFAConfirm(w http.ResponseWriter, r *http.Request, id *auth.Identity) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	ctx, cancel, err := m.writeCtx(r, id)
	if err != nil {
		return err
	}
	defer cancel()
	c, err := m.acl.Identity().ConfirmMFA(ctx, id.Token.User, pub.MFAConfirmRequest{Code: strings.TrimSpace(r.PostFormValue("code"))})
	if err != nil {
		if !formFailed(err) {
			return err
		}
		// The enrolment stays pending: the user scans nothing new, and types the next code.
		return m.render(w, formStatus(err), "iam_mfa", frame(r, id.Token.User, "Multi-factor authentication", mfaData{Error: errText(err), Enrolment: &pub.MFAEnrollment{}}))
	}
	return m.render(w, http.StatusOK, "iam_mfa", frame(r, id.Token.User, "Multi-factor authentication", mfaData{Enabled: true, Recovery: c.RecoveryCodes}))
}

// qrDataURI renders text as a QR code PNG (4 pixels a module, a 4-module quiet zone) in a data:
// URI, which the console's CSP allows as an image.
func qrDataURI(text string) (template.URL, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fault.New(fault.Internal, "encode the QR code: %v", err)
	}
	const scale, quiet = 4, 4
	n := (code.Size + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			mx, my := x/scale-quiet, y/scale-quiet
			c := color.Gray{Y: 255}
			if mx >= 0 && my >= 0 && mx < code.Size && my < code.Size && code.Black(mx, my) {
				c = color.Gray{Y: 0}
			}
			img.SetGray(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fault.New(fault.Internal, "encode the QR code's image: %v", err)
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}
