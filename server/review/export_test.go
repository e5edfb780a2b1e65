package review

// SetCodeOwnersBounds lowers the changed paths matched and the paths a rule lists, for a test
// that reaches them with a few files; the returned function restores them.
func SetCodeOwnersBounds(owned, listed int) (restore func()) {
	o, l := maxOwnedPaths, maxRulePaths
	maxOwnedPaths, maxRulePaths = owned, listed
	return func() { maxOwnedPaths, maxRulePaths = o, l }
}
