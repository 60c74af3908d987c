package sim

import "errors"

func genMegabase(b *Bundle, seed uint64, name string) (*Surface, error) {
	return nil, errors.New("megabase-10k is not generated yet")
}
