package names

import "testing"

func BenchmarkScreenUN(b *testing.B) {
	l := loadLists(b)
	all := append(append(append(l.un[:0:0], l.un...), l.eu...), l.uk...)
	x := NewIndex(all)
	qs := []string{"Kim Jong Un", "Mohammad Salim Haqqani", "Korea Mining Development Trading Corporation", "Jang Bom Su", "John Smith", "Sergei Anatolievich Solovyov"}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		x.Screen(Query{Name: qs[i%len(qs)]}, Options{})
	}
}
