package rollout

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestBuiltin(t *testing.T) {
	tests := []struct {
		name string
		want Config
		ok   bool
	}{
		{OneAtATime, Config{Name: OneAtATime, Kind: MostConcurrency, Value: 1}, true},
		{HalfAtATime, Config{Name: HalfAtATime, Kind: FleetPercent, Value: 50}, true},
		{AllAtOnce, Config{Name: AllAtOnce, Kind: HostCount, Value: 0}, true},
		{"CodeDeployDefault.OneAtATime", Config{Name: OneAtATime, Kind: MostConcurrency, Value: 1}, true},
		{"CodeDeployDefault.HalfAtATime", Config{Name: HalfAtATime, Kind: FleetPercent, Value: 50}, true},
		{"CodeDeployDefault.AllAtOnce", Config{Name: AllAtOnce, Kind: HostCount, Value: 0}, true},
		{"CodeDeployDefault.", Config{}, false},
		{"CodeDeployDefault.Other", Config{}, false},
		{"oneatatime", Config{}, false},
		{"", Config{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Builtin(tt.name)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("Builtin(%q) = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
			}
			if ok {
				if err := got.Validate(); err != nil {
					t.Fatalf("built-in does not validate: %v", err)
				}
			}
		})
	}
	if Default != OneAtATime || Builtins()[0].Name != Default {
		t.Fatalf("the default configuration must be OneAtATime, listed first")
	}
	b := Builtins()
	b[0].Value = 7
	if c, _ := Builtin(OneAtATime); c.Value != 1 {
		t.Fatalf("Builtins exposes the package's table")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" when valid
	}{
		{"host count zero is allowed", Config{Name: "c", Kind: HostCount, Value: 0}, ""},
		{"host count", Config{Name: "c", Kind: HostCount, Value: 6}, ""},
		{"host count must be >= 0", Config{Name: "c", Kind: HostCount, Value: -1}, "min-healthy-hosts must be >= 0"},
		{"fleet percent 0", Config{Name: "c", Kind: FleetPercent, Value: 0}, ""},
		{"fleet percent 99", Config{Name: "c", Kind: FleetPercent, Value: 99}, ""},
		{"fleet percent above 99", Config{Name: "c", Kind: FleetPercent, Value: 100}, "min-healthy-percent must be 0-99"},
		{"fleet percent below 0", Config{Name: "c", Kind: FleetPercent, Value: -1}, "min-healthy-percent must be 0-99"},
		{"most concurrency is reserved for OneAtATime", Config{Name: "c", Kind: MostConcurrency, Value: 1}, "reserved for OneAtATime"},
		{"unknown kind", Config{Name: "c", Kind: "PERCENT", Value: 1}, "kind must be HOST_COUNT or FLEET_PERCENT"},
		{"name required", Config{Kind: HostCount, Value: 1}, "name is required"},
		{"built-in names cannot be redefined", Config{Name: HalfAtATime, Kind: HostCount, Value: 3}, "cannot be redefined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v; want ErrInvalidConfig containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestConfigArithmetic checks each configuration's minimum, cap and batch sizes (every host
// succeeding) for the spec's fleets, and how many successes each needs: the deployment succeeds
// when the hosts deployed last fail and exactly that many succeed, and fails with one fewer.
func TestConfigArithmetic(t *testing.T) {
	custom := func(k Kind, v int) Config { return Config{Name: "custom", Kind: k, Value: v} }
	one, _ := Builtin(OneAtATime)
	half, _ := Builtin(HalfAtATime)
	all, _ := Builtin(AllAtOnce)
	ones := func(n int) []int { return slices.Repeat([]int{1}, n) }
	tests := []struct {
		name         string
		cfg          Config
		hosts        int
		wantMin      int
		wantInFlight int
		wantBatches  []int
		mustSucceed  int // fewest successes that can still succeed
	}{
		{"OneAtATime/1 host: the host must succeed", one, 1, 0, 1, []int{1}, 1},
		{"OneAtATime/2 hosts: one at a time, all but the last must succeed", one, 2, 1, 1, ones(2), 1},
		{"OneAtATime/9 hosts", one, 9, 8, 1, ones(9), 8},
		{"OneAtATime/10 hosts", one, 10, 9, 1, ones(10), 9},
		{"HalfAtATime/2 hosts: 1 at a time, 1 must succeed", half, 2, 1, 0, []int{1, 1}, 1},
		{"HalfAtATime/9 hosts: 4 at a time, 5 must succeed", half, 9, 5, 0, []int{4, 4, 1}, 5},
		{"HalfAtATime/10 hosts: 5 at a time, 5 must succeed", half, 10, 5, 0, []int{5, 5}, 5},
		{"AllAtOnce/1 host", all, 1, 0, 0, []int{1}, 1},
		{"AllAtOnce/2 hosts: all at once, 1 must succeed", all, 2, 0, 0, []int{2}, 1},
		{"AllAtOnce/9 hosts", all, 9, 0, 0, []int{9}, 1},
		{"AllAtOnce/10 hosts", all, 10, 0, 0, []int{10}, 1},
		{"HOST_COUNT 6 of 9: 3 at a time, 6 must succeed", custom(HostCount, 6), 9, 6, 0, []int{3, 3, 3}, 6},
		{"FLEET_PERCENT 40 of 9: needs 4, so 5 at a time", custom(FleetPercent, 40), 9, 4, 0, []int{5, 4}, 4},
		{"FLEET_PERCENT rounds up: 34 of 3 needs 2", custom(FleetPercent, 34), 3, 2, 0, []int{1, 1, 1}, 2},
		{"FLEET_PERCENT rounds up: 1 of 10 needs 1", custom(FleetPercent, 1), 10, 1, 0, []int{9, 1}, 1},
		{"FLEET_PERCENT exact: 90 of 10 needs 9", custom(FleetPercent, 90), 10, 9, 0, ones(10), 9},
		{"FLEET_PERCENT 0 is all at once", custom(FleetPercent, 0), 10, 0, 0, []int{10}, 1},
		{"HOST_COUNT 0 is all at once", custom(HostCount, 0), 9, 0, 0, []int{9}, 1},
		{"HOST_COUNT n-1 is one at a time", custom(HostCount, 9), 10, 9, 0, ones(10), 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustStart(t, tt.cfg, fleet(tt.hosts))
			if r.MinHealthy != tt.wantMin || r.MaxInFlight != tt.wantInFlight {
				t.Fatalf("min healthy %d, max in flight %d; want %d, %d", r.MinHealthy, r.MaxInFlight, tt.wantMin, tt.wantInFlight)
			}
			ok := simulate(t, r, nil)
			if !ok.final.Succeeded || !slices.Equal(ok.batchSizes(), tt.wantBatches) {
				t.Fatalf("all succeeding: %+v, batches %v; want success in batches %v", ok.final, ok.batchSizes(), tt.wantBatches)
			}
			// The last hosts in order fail, leaving exactly mustSucceed successes.
			enough := simulate(t, r, results(names(tt.mustSucceed+1, tt.hosts)...))
			if !enough.final.Succeeded {
				t.Fatalf("with %d successes: %+v; want success", tt.mustSucceed, enough.final)
			}
			if tt.mustSucceed > 0 {
				short := simulate(t, r, results(names(tt.mustSucceed, tt.hosts)...))
				if short.final.Succeeded {
					t.Fatalf("with %d successes the deployment succeeded; want failure", tt.mustSucceed-1)
				}
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"CodeDeployDefault.OneAtATime": OneAtATime, "CodeDeployDefault.AllAtOnce": AllAtOnce, HalfAtATime: HalfAtATime,
		"two": "two", "CodeDeployDefault.two": "CodeDeployDefault.two", "": "",
	} {
		if got := Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
	if got := AWSName(HalfAtATime); got != "CodeDeployDefault.HalfAtATime" {
		t.Errorf("AWSName = %q", got)
	}
}
