package qr

import (
	"errors"
	"fmt"
	"testing"
)

// publishedPayload is a real payload from a specification, a scheme's
// manual, or public code, with the fields read off it by hand.
type publishedPayload struct {
	name    string
	payload string
	// expected fields
	objects  int // root data objects, 63 included
	poi      Initiation
	currency string // alphabetic
	amount   int64  // minor units; -1: no 54
	country  string
	merchant string
	city     string
	ref      string
	accounts []string // "ID scheme keytype key"
}

// Every CRC below was recomputed independently before the payload was
// added; payloads whose CRC did not match are in publishedMalformed.
var publishedPayloads = []publishedPayload{
	{
		// EMVCo MPM specification v1.1, worked example (also in DESIGN.md);
		// reproduced e.g. in dongri/emv-qrcode, mvallim/emv-qrcode CRCTest and
		// the exemvi test suite as "official sample".
		name:     "EMVCo worked example",
		payload:  "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A",
		objects:  15,
		poi:      Dynamic,
		currency: "CNY", amount: 2372, country: "CN", merchant: "BEST TRANSPORT", city: "BEIJING",
		accounts: []string{"29 other  ", "31 other  "},
	},
	{
		// Banco Central do Brasil, Manual de Padrões para Iniciação do Pix,
		// static BR Code example (DESIGN.md).
		name:     "PIX manual static, random key",
		payload:  "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D",
		objects:  9,
		currency: "BRL", amount: -1, country: "BR", merchant: "Fulano de Tal", city: "BRASILIA", ref: "***",
		accounts: []string{"26 pix evp 123e4567-e12b-12d1-a456-426655440000"},
	},
	{
		// Pix manual section 6.2 (dynamic, URL), as transcribed in
		// gist.github.com/matheusb-comp/1efa205b3c0ffd7af1e8ce63a10e02dc.
		name:     "PIX manual dynamic, URL",
		payload:  "00020101021226770014BR.GOV.BCB.PIX2555pix.example.com/qr/93598be0-1bd0-4997-8318-81776a1d8a995204000053039865802BR5907EMPRESA6009SAO PAULO62070503***6304EEAB",
		objects:  10,
		poi:      Dynamic,
		currency: "BRL", amount: -1, country: "BR", merchant: "EMPRESA", city: "SAO PAULO", ref: "***",
		accounts: []string{"26 pix url pix.example.com/qr/93598be0-1bd0-4997-8318-81776a1d8a99"},
	},
	{
		// Question on groups.google.com/g/minigui-forum/c/ovW4oLCkscc (CRC FA88
		// quoted there), a real CPF key.
		name:     "PIX CPF key with amount",
		payload:  "00020126330014BR.GOV.BCB.PIX01115794666323452040000530398654041.005802BR5925CLENILTON CRUZ DE ALENCAR6006MANAUS62070503***6304FA88",
		objects:  10,
		currency: "BRL", amount: 100, country: "BR", merchant: "CLENILTON CRUZ DE ALENCAR", city: "MANAUS", ref: "***",
		accounts: []string{"26 pix cpf 57946663234"},
	},
	{
		// Public GitHub code (a wedding gift list's "pix_copia_e_cola").
		name:     "PIX e-mail key with txid",
		payload:  "00020126500014BR.GOV.BCB.PIX0128mariannavidal12345@gmail.com520400005303986540580.005802BR5923Marianna Vidal da Silva6009SAO PAULO62140510Uog7w1SbFq63044416",
		objects:  10,
		currency: "BRL", amount: 8000, country: "BR", merchant: "Marianna Vidal da Silva", city: "SAO PAULO", ref: "Uog7w1SbFq",
		accounts: []string{"26 pix email mariannavidal12345@gmail.com"},
	},
	{
		// Public GitHub code (a Java order controller returning a Mercado Pago
		// generated "pix_key").
		name:     "PIX Mercado Pago generated",
		payload:  "00020126420014br.gov.bcb.pix0120admin@foodfacil.site520400005303986540525.505802BR5923DEELIEZER202202110139296009Sao Paulo62240520mpqrinter791905408246304A712",
		objects:  10,
		currency: "BRL", amount: 2550, country: "BR", merchant: "DEELIEZER20220211013929", city: "Sao Paulo", ref: "mpqrinter79190540824",
		accounts: []string{"26 pix email admin@foodfacil.site"},
	},
	{
		// Public GitHub code (a Kotlin QR rendering test's PayNow payload).
		name:     "PayNow UEN static",
		payload:  "00020101021126490009SG.PAYNOW010120210201403121W030110408203012315204000053037025802SG5913ACME Pte Ltd.6009Singapore6304B69E",
		objects:  9,
		poi:      Static,
		currency: "SGD", amount: -1, country: "SG", merchant: "ACME Pte Ltd.", city: "Singapore",
		accounts: []string{"26 paynow uen 201403121W"},
	},
	{
		// Public GitHub code (a Java UI test's sandbox PayNow notification).
		name:     "PayNow UEN dynamic with expiry",
		payload:  "00020101021226560009SG.PAYNOW010120213201509555BNN1030100412230914205029520400005303702540450.05802SG5914DEV MERCHANT 56009SINGAPORE621601120870-0000VL663049149",
		objects:  11,
		poi:      Dynamic,
		currency: "SGD", amount: 5000, country: "SG", merchant: "DEV MERCHANT 5", city: "SINGAPORE",
		accounts: []string{"26 paynow uen 201509555BNN1"},
	},
	{
		// Public GitHub code (a Python PayNow decoder's example_qr_code2).
		name:     "PayNow mobile static",
		payload:  "00020101021126380009SG.PAYNOW010100211+6584554295030115204000053037025802SG5902NA6009SINGAPORE630416D8",
		objects:  9,
		poi:      Static,
		currency: "SGD", amount: -1, country: "SG", merchant: "NA", city: "SINGAPORE",
		accounts: []string{"26 paynow mobile +6584554295"},
	},
	{
		// lee-ratinan/emv-qr README (EmvMerchantDecoder example): PayNow inside SGQR.
		name:     "SGQR with PayNow UEN",
		payload:  "00020101021126490009SG.PAYNOW010120210202012345X0301104082021123151820007SG.SGQR0113202012345X123020701.000103068286710402010503123060400000708201912315204000053037025802SG5911RATINAN LEE6009SINGAPORE610682876162140110987654321X630429FD",
		objects:  12,
		poi:      Static,
		currency: "SGD", amount: -1, country: "SG", merchant: "RATINAN LEE", city: "SINGAPORE",
		accounts: []string{"26 paynow uen 202012345X", "51 other  "},
	},
	{
		// Public GitHub code (a payment API test's SGQR).
		name:     "SGQR with PayNow UEN, 2023",
		payload:  "00020101021126360009SG.PAYNOW01012020953469324E0301151800007SG.SGQR0112230703330A15020701.00010306440052040200050200060400000708202307035204000053037025802SG5911SG HINOYAMA6009Singapore63049A3A",
		objects:  10,
		poi:      Static,
		currency: "SGD", amount: -1, country: "SG", merchant: "SG HINOYAMA", city: "Singapore",
		accounts: []string{"26 paynow uen 53469324E", "51 other  "},
	},
	{
		// SGQR of SOBA EXPRESS, from the Channel NewsAsia article on the SGQR
		// roll-out (as cited in a public GitHub parser test).
		name:     "SGQR NETS, SOBA EXPRESS",
		payload:  "00020101021126810011SG.COM.NETS01231198500065G9912312359000211111686614000308686614019908604108C251800007SG.SGQR01121809072DD85C020701.00010306079027040201050206060400000708201809155204581253037025802SG5912SOBA EXPRESS6009Singapore630457B3",
		objects:  10,
		poi:      Static,
		currency: "SGD", amount: -1, country: "SG", merchant: "SOBA EXPRESS", city: "Singapore",
		accounts: []string{"26 other  ", "51 other  "},
	},
	{
		// Public GitHub code (a React QR scanner's default data).
		name:     "SGQR NETS, THUNDERBOLT LEI CHA",
		payload:  "00020101021126810011SG.COM.NETS01231198500065G9912312359000211111687665000308687665019908B97B381451830007SG.SGQR01121809112DFA9E020701.000103064088300402010502070607STALL 20708201809155204000053037025802SG5919THUNDERBOLT LEI CHA6009Singapore6304C17C",
		objects:  10,
		poi:      Static,
		currency: "SGD", amount: -1, country: "SG", merchant: "THUNDERBOLT LEI CHA", city: "Singapore",
		accounts: []string{"26 other  ", "51 other  "},
	},
	{
		// Public GitHub code (a Java CRC test, expected CRC 43F4).
		name:     "SGQR Alipay and Fave",
		payload:  "00020101021126440010com.myfave0126https://myfave.com/qr/511727630010com.alipay0145https://qr.alipay.com/ocx08230mbjrpvogjn4mm1751800007SG.SGQR01121809132E11F3020701.00030306339511040202050209060400000708201809185204000053037025802SG5911DRAGON BOWL6009Singapore630443F4",
		objects:  11,
		poi:      Static,
		currency: "SGD", amount: -1, country: "SG", merchant: "DRAGON BOWL", city: "Singapore",
		accounts: []string{"26 other  ", "27 other  ", "51 other  "},
	},
	{
		// Public GitHub code (a Python SGQR decoder's example_qr_code):
		// UnionPay merchant information in primitive 15, WeChat Pay, EZ-Link.
		name:     "SGQR with UnionPay and WeChat Pay",
		payload:  "0002010102111531480007024800070280007025499435326590011COM.REMOPAY0110200000033802040000030400010404000099020127330015SG.COM.DASH.WWW0110100210041328650017COM.QQ.WEIXIN.PAY0110100000033702040000030400010404000099020129720013sg.com.ezlink0114FMP-10000003380204SGQR0317NPL-0001-0000000004046AF951800007SG.SGQR01121809072DDA29020701.00010306058602040200050200060400000708201809155204000053037025802SG5909hisenyuan6009Singapore63044F90",
		objects:  14,
		poi:      Static,
		currency: "SGD", amount: -1, country: "SG", merchant: "hisenyuan", city: "Singapore",
		accounts: []string{"15 unionpay merchant 4800070248000702800070254994353", "26 other  ", "27 other  ", "28 other  ", "29 other  ", "51 other  "},
	},
	{
		// Public GitHub code (a restaurant API README's PromptPay response).
		name:     "PromptPay mobile, amount",
		payload:  "00020101021229370016A0000006770101110113006692754538553037645802TH540550.006304B5FD",
		objects:  7,
		poi:      Dynamic,
		currency: "THB", amount: 5000, country: "TH",
		accounts: []string{"29 promptpay mobile 0066927545385"},
	},
	{
		// Public GitHub code (a Node script checking a PromptPay CRC).
		name:     "PromptPay mobile, large amount",
		payload:  "00020101021129370016A000000677010111011300669245317755802TH54076000.00530376463049B3B",
		objects:  7,
		poi:      Static,
		currency: "THB", amount: 600000, country: "TH",
		accounts: []string{"29 promptpay mobile 0066924531775"},
	},
	{
		// Public GitHub code (a Go EMV parser test, "valid EMV QR with all
		// fields and CRC validation"): PromptPay bill payment.
		name:     "PromptPay bill payment",
		payload:  "00020101021130750016A00000067701011201150107537000882050219ZY010556UP8013305E80309MDMBEN38J53037645406900.045802TH622407200000yJMlWBD1ltXF6zJf6304858E",
		objects:  8,
		poi:      Static,
		currency: "THB", amount: 90004, country: "TH",
		accounts: []string{"30 promptpay biller 010753700088205"},
	},
	{
		// Public GitHub code (a shop page's PromptPay QR value).
		name:     "PromptPay bill payment with MCC and name",
		payload:  "00020101021230540016A0000006770101120115010556207402702021125062781065520412345303764540510.005802TH5902NA6304CE42",
		objects:  9,
		poi:      Dynamic,
		currency: "THB", amount: 1000, country: "TH", merchant: "NA",
		accounts: []string{"30 promptpay biller 010556207402702"},
	},
	{
		// Public GitHub code (a Go thaiqr package test's expectedResult).
		name:     "Thai QR bill payment with references",
		payload:  "00020101021230710016A00000067701011201150112345678912330212REF1234567890312REF98765432153037645406200.005802TH5906THAIQR6304F528",
		objects:  8,
		poi:      Dynamic,
		currency: "THB", amount: 20000, country: "TH", merchant: "THAIQR",
		accounts: []string{"30 promptpay biller 011234567891233"},
	},
	{
		// Public GitHub code (a KShop default company QR): Thai QR without 52,
		// 59 and 60, with A000000677010113.
		name:     "KShop static, no 52/59/60",
		payload:  "00020101021130810016A00000067701011201150107536000315010214KB0000021596470320KPS004KB00000215964731690016A00000067701011301030040214KB0000021596470420KPS004KB00000215964753037645802TH63043C80",
		objects:  7,
		poi:      Static,
		currency: "THB", amount: -1, country: "TH",
		accounts: []string{"30 promptpay biller 010753600031501", "31 promptpay  004"},
	},
	{
		// Public GitHub code (another KShop default raw payload).
		name:     "KShop static 2",
		payload:  "00020101021130810016A00000067701011201150107536000315080214KB0000016416840320KPS004KB00000164168431690016A00000067701011301030040214KB0000016416840420KPS004KB00000164168453037645802TH6304A14E",
		objects:  7,
		poi:      Static,
		currency: "THB", amount: -1, country: "TH",
		accounts: []string{"30 promptpay biller 010753600031508", "31 promptpay  004"},
	},
	{
		// Public GitHub code (a mock MPAY response's qrCodeStr).
		name:     "MPAY PromptPay with amount",
		payload:  "00020101021130740016A00000067701011201150105548038329010216500000000000468303110000001234631940016A00000067701011301031100203CsB035601165000000000004683021100000012346030710000000406Shop01530376454072345.005802TH5914MPAY_PROMPTPAY6211070710000006304E98D",
		objects:  10,
		poi:      Static,
		currency: "THB", amount: 234500, country: "TH", merchant: "MPAY_PROMPTPAY",
		accounts: []string{"30 promptpay biller 010554803832901", "31 promptpay  110"},
	},
	{
		// Public GitHub code (a C# controller's KSHOP_TEMPLATE): Visa,
		// Mastercard, UnionPay (15), Thai QR and 51 in one code.
		name:     "KShop multi-network with UnionPay",
		payload:  "0002010102110216478772000245472004155303920002454991531343007640052044640122067749700130810016A00000067701011201150107536000315080214KB0000018904640320KPS004KB00000189046431690016A00000067701011301030040214KB0000018904640420KPS004KB00000189046451430014A0000000041010010641697102111234567890152045631530376454041.005802TH5910NOKKY SHOP6004CITY62240508854304870708420677496304E809",
		objects:  16,
		poi:      Static,
		currency: "THB", amount: 100, country: "TH", merchant: "NOKKY SHOP", city: "CITY", ref: "85430487",
		accounts: []string{"02 visa merchant 4787720002454720", "04 mastercard merchant 530392000245499", "15 unionpay merchant 3430076400520446401220677497001", "30 promptpay biller 010753600031508", "31 promptpay  004", "51 other  "},
	},
	{
		// Public GitHub code (a web page's KSHOP_QR_PAYLOAD).
		name:     "KShop multi-network 2",
		payload:  "0002010102110216478772000526340904155303920005264131531343007640052044640122296664800130810016A00000067701011201150107536000315010214KB0000021987930320EMPKB00000219879300131900016A00000067701011301030040214KB0000021987930420EMPKB0000021987930010517KB00000219879300151430014A000000004101001064169710211123456789015204581253037645802TH5917SOM TUM NAI NEUNG6004CITY622505095155710130708422966646304AE9C",
		objects:  15,
		poi:      Static,
		currency: "THB", amount: -1, country: "TH", merchant: "SOM TUM NAI NEUNG", city: "CITY", ref: "515571013",
		accounts: []string{"02 visa merchant 4787720005263409", "04 mastercard merchant 530392000526413", "15 unionpay merchant 3430076400520446401222966648001", "30 promptpay biller 010753600031501", "31 promptpay  004", "51 other  "},
	},
}

func TestPublishedPayloads(t *testing.T) {
	if len(publishedPayloads) < 20 {
		t.Fatalf("only %d published payloads", len(publishedPayloads))
	}
	for _, tc := range publishedPayloads {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprintf("%04X", crcBitwise([]byte(tc.payload[:len(tc.payload)-4]))); got != tc.payload[len(tc.payload)-4:] {
				t.Fatalf("published CRC %s, recomputed %s", tc.payload[len(tc.payload)-4:], got)
			}
			p, err := Parse(tc.payload)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(p.Objects) != tc.objects {
				t.Errorf("%d root objects, want %d", len(p.Objects), tc.objects)
			}
			if got := p.Initiation(); got != tc.poi {
				t.Errorf("Initiation = %v, want %v", got, tc.poi)
			}
			c, err := p.Currency()
			if err != nil || c.Code() != tc.currency {
				t.Errorf("Currency = %v, %v, want %s", c, err, tc.currency)
			}
			a, err := p.Amount()
			switch {
			case tc.amount < 0 && !errors.Is(err, ErrNoAmount):
				t.Errorf("Amount = %v, %v, want ErrNoAmount", a, err)
			case tc.amount >= 0 && (err != nil || a.Units() != tc.amount || a.Currency().Code() != tc.currency):
				t.Errorf("Amount = %v, %v, want %d %s", a, err, tc.amount, tc.currency)
			}
			for _, f := range []struct{ name, got, want string }{
				{"Country", p.Country(), tc.country},
				{"MerchantName", p.MerchantName(), tc.merchant},
				{"MerchantCity", p.MerchantCity(), tc.city},
				{"Reference", p.Reference(), tc.ref},
			} {
				if f.got != f.want {
					t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
				}
			}
			var accts []string
			for _, a := range p.Accounts() {
				accts = append(accts, fmt.Sprintf("%s %s %s %s", a.ID, a.Scheme, a.KeyType, a.Key))
			}
			if fmt.Sprint(accts) != fmt.Sprint(tc.accounts) {
				t.Errorf("Accounts =\n %q\nwant\n %q", accts, tc.accounts)
			}
			out, err := p.Encode()
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if out != tc.payload {
				t.Errorf("round trip:\n got %s\nwant %s", out, tc.payload)
			}
		})
	}
}

// crcBitwise is the textbook bit-at-a-time CRC-16/CCITT-FALSE, an
// independent check of crc16.
func crcBitwise(b []byte) uint16 {
	c := uint16(0xFFFF)
	for _, x := range b {
		c ^= uint16(x) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
	}
	return c
}

// publishedMalformed are published payloads that must be rejected.
var publishedMalformed = []struct {
	name, source, payload string
	want                  error
}{
	{
		"PIX manual 6.1 as transcribed",
		"gist.github.com/matheusb-comp/1efa205b3c0ffd7af1e8ce63a10e02dc: 62 declares 08 characters for the 7 of 0503***, and CRC 170E was computed over that text",
		"00020126360014BR.GOV.BCB.PIX0114+5511943214321520400005303986540566.665802BR5907EMPRESA6008BRASILIA62080503***6304170E",
		ErrTruncated,
	},
	{
		"SGQR specification sample FOOD XYZ",
		"SGQR sample with every network (public GitHub parser test, CRC 5E8D correct): 1069 characters, over EMVCo's 512",
		"00020101021102164761360000000*1704155123456789123451110123456789012153123456789012341531250003440001034450003445311000126330015SG.COM.DASH.WWW0110000005550127670014A00000076200010120COM.LQDPALLIANCE.WWW021512345678901234503020028660011SG.COM.OCBC0147OCBCP2P629A358D-ECE7-4554-AD56-EBD12D84CA7E4F7329500006SG.EZI013603600006-76bb-4a5a-aa1a-fbcb64d6ecf530850013SG.COM.EZLINK01201234567890123456-1230204SGQR0324A123456,B123456,C12345670404A23X31260008COM.GRAB0110A93FO3230Q32390007COM.DBS011012345678900210123456789033900011SG.COM.NETS01230201401832831128823590002150001118703240000308885872010901199084E5DC3D834430017COM.QQ.WEIXIN.PAY011012345678900204123435660010SG.COM.UOB014845D233507F5E8C306E3871A4E9FACA601A80C114B5645E5D36840009SG.PAYNOW010120216+621234567890123030100408209912310525123456789012345678901234537270009SG.AIRPAY0110A11BC0000X51860007SG.SGQR0112180307510317020701.0003030608100604020205031380609Counter010708201804075204581453037025802SG5916FOOD XYZ PTE LTD6009SINGAPORE6106081006626001081234567R0607876543050330015SG.COM.DASH.WWW0110000005550263045E8D",
		ErrPayloadTooLong,
	},
	{
		"SGQR specification sample FOOD XYZ, other version",
		"public GitHub code (a Java SGQR demo controller, CRC 3320 correct): 1015 characters",
		"00020101021102164761360000000*1704155123456789123451110123456789012153123456789012341531250003440001034450003445311000126330015SG.COM.DASH.WWW0110000005550127670014A00000076200010120COM.LQDPALLIANCE.WWW021512345678901234503020028660011SG.COM.OCBC0147OCBCP2P629A358D-ECE7-4554-AD56-EBD12D84CA7E4F7329500006SG.EZI013603600006-76bb-4a5a-aa1a-fbcb64d6ecf530850013SG.COM.EZLINK01201234567890123456-1230204SGQR0324A123456,B123456,C12345670404A23X31260008COM.GRAB0110A93FO3230Q32390007COM.DBS011012345678900210123456789033900011SG.COM.NETS01230201401832831128823590002150001118703240000308885872010901199084E5DC3D834430017COM.QQ.WEIXIN.PAY011012345678900204123435660010SG.COM.UOB014845D233507F5E8C306E3871A4E9FACA601A80C114B5645E5D36940009SG.PAYNOW010100216+6212345678901230301004351234567890123456789012345678901234505082020123137270009SG.AIRPAY0110A11BC0000X51860007SG.SGQR0112201803070317020701.0003030608100604020205031380609Counter010708201804075204581453037025802SG5916FOOD XYZ PTE LTD6009SINGAPORE610608100663043320",
		ErrPayloadTooLong,
	},
	{
		"PIX API docs example with a wrong CRC",
		"docs.lerian.studio/en/reference/create-static-qr-code: CRC 45C8, recomputed 02A4",
		"00020126580014br.gov.bcb.Pix0136123e4567-e12b-12d1-a456-426655440000520400005303986540510.005802BR5913TESTE ACCOUNT6008BRASILIA62070503***630445C8",
		ErrBadCRC,
	},
	{
		"PIX copy-and-paste docs with the manual's CRC pasted on",
		"simpay-prod.readme.io/reference/approve-pix-cashout-pix-manual-copy: 59 declares 25 characters for the 13 of FULANO DE TAL, and CRC 1D3D belongs to another payload (recomputed 2715)",
		"00020126360014br.gov.bcb.pix0114+55119999999995204000053039865406100.505802BR5925FULANO DE TAL6014BELO HORIZONTE62070503***63041D3D",
		ErrNotNumeric,
	},
	{
		"PIX pay-by-QR docs with the manual's CRC pasted on",
		"adopay-prod.readme.io/reference/pix-transfer-pay-qr-code-via-copy-and-paste: CRC 1D3D, recomputed A9FD",
		"00020126580014br.gov.bcb.pix0136a629532e-7693-4846-852d-1bbff6b2f8cd520400005303986540510.005802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D",
		ErrBadCRC,
	},
	{
		"KHQR scanner stub",
		"public GitHub code (a Flutter plugin's scan stub): 29 declares 37 characters for 38, so the rest is read shifted and ID 05 comes twice (its CRC ABCD is fake too)",
		"00020101021229370016A000000677010111011300011234567890520411115303116540510.005802KH5908FIELDLOG6304ABCD",
		ErrDuplicate,
	},
	{
		"PromptPay README placeholder CRC",
		"public GitHub code (a Rust PromptPay crate README): CRC XXXX",
		"00020101021229370016A000000677010111011300668123456785802TH53037645406100.506304XXXX",
		ErrBadCRC,
	},
	{
		"SGQR generator README with a wrong name length",
		"public GitHub code (a Python SgQRGenerator README): 59 declares 13 characters for the 11 of \"TAN AH GAO \"",
		"00020101021125280009SG.PAYNOW010100211+659876543203011530370254040.005802SG5913TAN AH GAO 63042968",
		ErrTruncated,
	},
	{
		"exemvi: non-numeric length",
		"exemvi MPM test \"qr data length is not numeric\"",
		"00A201",
		ErrNotNumeric,
	},
	{
		"exemvi: does not start with 00",
		"exemvi MPM test \"qr does not start with payload format indicator\": \"01\" before the EMVCo sample",
		"01" + publishedPayloads[0].payload,
		ErrFormatNotFirst,
	},
	{
		"exemvi: checksum ABCD",
		"exemvi MPM test \"qr checksum is invalid\": the EMVCo sample with CRC ABCD",
		publishedPayloads[0].payload[:len(publishedPayloads[0].payload)-4] + "ABCD",
		ErrBadCRC,
	},
}

func TestPublishedMalformed(t *testing.T) {
	for _, tc := range publishedMalformed {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.payload)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, %v; want %v (%s)", p, err, tc.want, tc.source)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
		})
	}
}

// publishedWithWarnings are real payloads that break one of EMVCo's
// maximum lengths or have an empty template, with a valid structure and
// CRC: Parse accepts them with warnings (before, it refused them).
var publishedWithWarnings = []struct {
	name, source, payload string
	warnings              []string // "path sentinel"
	merchant, city        string
}{
	{
		"KHQR-style UnionPay code, city over 15",
		"README and decoder test of a Kotlin EMV QR library (package com.phanna.emv_qr_code) and of the Ruby gem emv_qr_code_processor: " +
			"60 \"Banteay Meanchey\" (a Cambodian province, 16 characters), CRC 1FF2",
		"00020101021252044131153137210116372101160123456789ABCDE6016Banteay Meanchey5913Kuntheas Shop5802KH540510.005303840621201081234567863041FF2",
		[]string{"60 " + ErrTooLong.Error()},
		"Kuntheas Shop", "Banteay Meanchey",
	},
	{
		"PayNow UEN code, merchant name over 25",
		"README of a Swift PayNow QR framework (demo output for UEN 201023709H): 59 \"Singapore Engineering Services\", 30 characters, CRC 763F",
		"00020101021226490009SG.PAYNOW010120210201023709H03010040820201127520400005303702540550.005802SG5930Singapore Engineering Services6009Singapore62220118SES Monday Payment6304763F",
		[]string{"59 " + ErrTooLong.Error()},
		"Singapore Engineering Services", "Singapore",
	},
	{
		"VietQR (NAPAS) push code, empty 62",
		"a bank QR-lookup API request sample quoted in public code (qr_string of req_sample1): \"6200\", CRC 5D12",
		"00020101021138540010A0000007270126000697041901121000050925440206QRPUSH5204594453037045802VN5904Hanh6005HANOI620063045D12",
		[]string{"62 " + ErrBadLength.Error()},
		"Hanh", "HANOI",
	},
	{
		"Hong Kong FPS code, empty 62",
		"HKICL FPS payload in public Android code (a TLV parser's sample): \"6200\", CRC 6734",
		"00020101021226340012HK.COM.HKICL010300402070009999520400005303344540555.005802NA5902NA6002NA620063046734",
		[]string{"62 " + ErrBadLength.Error()},
		"NA", "NA",
	},
}

func TestPublishedWithWarnings(t *testing.T) {
	for _, tc := range publishedWithWarnings {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.payload)
			if err != nil {
				t.Fatalf("Parse: %v (%s)", err, tc.source)
			}
			var got []string
			for _, w := range p.Warnings {
				got = append(got, w.Path+" "+w.Err.Error())
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.warnings) {
				t.Errorf("warnings %q, want %q", got, tc.warnings)
			}
			if p.MerchantName() != tc.merchant || p.MerchantCity() != tc.city {
				t.Errorf("merchant %q city %q", p.MerchantName(), p.MerchantCity())
			}
			if _, err := p.Encode(); err == nil {
				t.Error("Encode accepted a payload with warnings")
			}
			// The CRC still matters, and broken structure is still refused.
			bad := tc.payload[:len(tc.payload)-4] + "0000"
			if _, err := Parse(bad); !errors.Is(err, ErrBadCRC) {
				t.Errorf("bad CRC: %v", err)
			}
		})
	}
}
