package qr_test

import (
	"fmt"

	"github.com/socialpay/socialpay/qr"
)

// Parse EMVCo's worked example and read its fields.
func ExampleParse() {
	p, err := qr.Parse("00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A")
	if err != nil {
		fmt.Println(err)
		return
	}
	amount, _ := p.Amount()
	alt, _ := p.GetSub("64", "01")
	fmt.Println(p.Initiation(), amount, p.Country())
	fmt.Println(p.MerchantName(), "/", alt, "/", p.MerchantCity())
	fmt.Println(len(p.Objects), "data objects; terminal", p.Template("62")[2].Value)
	s, _ := p.Encode()
	fmt.Println("round trip:", s[len(s)-8:])
	// Output:
	// dynamic 23.72 CNY CN
	// BEST TRANSPORT / 最佳运输 / BEIJING
	// 15 data objects; terminal A6008667
	// round trip: 6304A13A
}
