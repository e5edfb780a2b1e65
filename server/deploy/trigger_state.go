package deploy

import (
	"encoding/json"

	"github.com/slipwayhq/slipway/server/core/state"
)

// bucketTriggers holds the groups' triggers. Its name is in snapshots: never change it.
var bucketTriggers = []byte("deploy/triggers") // group id | 0 | trigger name -> Trigger

func triggerKey(groupID, name string) []byte { return []byte(groupID + "\x00" + name) }

// groupTriggers returns a group's triggers in name order (none for an unknown group).
func groupTriggers(tx *state.Tx, groupID string) []Trigger {
	if groupID == "" {
		return nil
	}
	var out []Trigger
	prefix := []byte(groupID + "\x00")
	c := tx.Bucket(bucketTriggers).Cursor()
	for k, v := c.Seek(prefix); k != nil && len(k) > len(prefix) && string(k[:len(prefix)]) == string(prefix); k, v = c.Next() {
		var t Trigger
		if json.Unmarshal(v, &t) == nil {
			out = append(out, t)
		}
	}
	return out
}

// getTrigger returns a group's trigger; ok is false when it has none of that name.
func getTrigger(tx *state.Tx, groupID, name string) (Trigger, bool) {
	var t Trigger
	v := tx.Bucket(bucketTriggers).Get(triggerKey(groupID, name))
	if v == nil || json.Unmarshal(v, &t) != nil {
		return Trigger{}, false
	}
	return t, true
}

func putTrigger(tx *state.Tx, groupID string, t Trigger) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketTriggers).Put(triggerKey(groupID, t.Name), b)
}

func deleteTrigger(tx *state.Tx, groupID, name string) error {
	return tx.Bucket(bucketTriggers).Delete(triggerKey(groupID, name))
}

// deleteGroupTriggers removes a deleted group's triggers.
func deleteGroupTriggers(tx *state.Tx, groupID string) error {
	for _, t := range groupTriggers(tx, groupID) {
		if err := deleteTrigger(tx, groupID, t.Name); err != nil {
			return err
		}
	}
	return nil
}
