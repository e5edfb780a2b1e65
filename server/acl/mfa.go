package acl

import (
	"context"

	pub "github.com/slipwayhq/slipway/pkg/api"
	"github.com/slipwayhq/slipway/server/core/credential"
	"github.com/slipwayhq/slipway/server/core/fault"
)

// RecoveryCodeCount is how many one-time recovery codes a confirmed MFA enrolment gets.
const RecoveryCodeCount = 10

// mfaAAD names the record a user's sealed TOTP secret belongs to: the user's ID, so that a
// secret copied to another user (or to a user re-created under the same name) does not open.
func mfaAAD(u User) []byte { return []byte("iam-mfa:" + u.ID) }

// EnrollMFA starts (or restarts) a user's TOTP enrolment: a fresh secret, sealed with the
// cluster keyring before it enters the log, and answered once in the clear (as an otpauth URL
// and a terminal QR code) for the user's authenticator app. Sign-in does not ask for a code
// until ConfirmMFA.
func (s *Identity) EnrollMFA(ctx context.Context, name string) (pub.MFAEnrollment, error) {
	u, err := s.FreshUser(ctx, name)
	if err != nil {
		return pub.MFAEnrollment{}, err
	}
	if u.Enabled() {
		return pub.MFAEnrollment{}, fault.New(fault.Conflict, "user %s already has MFA enabled: disable it first (`slipway iam mfa disable --user %s`)", name, name)
	}
	secret, err := credential.NewTOTPSecret()
	if err != nil {
		return pub.MFAEnrollment{}, fault.New(fault.Internal, "make a TOTP secret: %v", err)
	}
	sealed, err := s.core.Keyring.Seal([]byte(secret), mfaAAD(u))
	if err != nil {
		return pub.MFAEnrollment{}, fault.New(fault.Unavailable, "seal the TOTP secret with the cluster keyring: %v; retry once the keyring is ready", err)
	}
	if _, err := propose(ctx, s, CmdMFAEnroll, MFAEnrollPayload{Name: name, SealedSecret: sealed}); err != nil {
		return pub.MFAEnrollment{}, err
	}
	url := credential.TOTPURL(name, secret)
	qr, err := credential.TerminalQR(url)
	if err != nil {
		qr = "" // the URL and the secret still work; a QR code is a convenience
	}
	return pub.MFAEnrollment{Secret: secret, OTPAuthURL: url, QR: qr}, nil
}

// openTOTPSecret returns a user's TOTP secret in the clear (never to be logged or answered).
func (s *Identity) openTOTPSecret(u User) (string, error) {
	if u.MFA == nil {
		return "", fault.New(fault.NotFound, "user %s has no MFA device", u.Name)
	}
	b, err := s.core.Keyring.Open(u.MFA.SealedSecret, mfaAAD(u))
	if err != nil {
		return "", fault.New(fault.Internal, "open the TOTP secret of user %s: %v", u.Name, err)
	}
	return string(b), nil
}

// ConfirmMFA confirms a pending enrolment with a code from the authenticator app and answers the
// recovery codes, once: only their hashes are stored. From then on, sign-in asks for a code.
func (s *Identity) ConfirmMFA(ctx context.Context, name string, req pub.MFAConfirmRequest) (pub.MFAConfirmation, error) {
	u, err := s.FreshUser(ctx, name)
	if err != nil {
		return pub.MFAConfirmation{}, err
	}
	if u.MFA == nil || u.MFA.Confirmed {
		return pub.MFAConfirmation{}, fault.New(fault.Conflict, "user %s has no MFA enrolment waiting for confirmation: `slipway iam mfa enable` starts one", name)
	}
	secret, err := s.openTOTPSecret(u)
	if err != nil {
		return pub.MFAConfirmation{}, err
	}
	step, ok := credential.VerifyTOTP(secret, req.Code, s.core.Now(), 0)
	if !ok {
		return pub.MFAConfirmation{}, fault.New(fault.Invalid, "the code does not match the new MFA secret: give the 6-digit code your authenticator app shows now (check that this machine's and the server's clocks are right)")
	}
	codes, hashes, err := credential.NewRecoveryCodes(RecoveryCodeCount)
	if err != nil {
		return pub.MFAConfirmation{}, fault.New(fault.Internal, "make recovery codes: %v", err)
	}
	if _, err := propose(ctx, s, CmdMFAConfirm, MFAConfirmPayload{Name: name, Counter: uint64(step), RecoveryHashes: hashes}); err != nil {
		return pub.MFAConfirmation{}, err
	}
	return pub.MFAConfirmation{RecoveryCodes: codes}, nil
}

// DisableMFA removes a user's MFA device (pending or confirmed) and its recovery codes.
func (s *Identity) DisableMFA(ctx context.Context, name string) error {
	_, err := propose(ctx, s, CmdMFADisable, NamePayload{Name: name})
	return err
}
