/**
 * Passwords of 8+ characters that top the public leaked-password frequency lists
 * (ASVS 6.2.4). Compared case-insensitively. A built-in floor, not a breach check.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  `
12345678 123456789 1234567890 12345678910 123123123 987654321 11111111 111111111
1111111111 00000000 000000000 0000000000 88888888 66666666 55555555 22222222 99999999
12121212 11223344 123321123 147258369 159357159 12344321 87654321 01234567 1q2w3e4r
1q2w3e4r5t 1qaz2wsx 1qazxsw2 zaq12wsx zaq1zaq1 qwertyui qwertyuiop qwerty123 qwerty12
qwerty1234 asdfghjk asdfghjkl asdf1234 zxcvbnm1 zxcvbnm123 q1w2e3r4 q1w2e3r4t5 qazwsxedc
1234qwer qwer1234 abcd1234 abc12345 abcdefgh 1234abcd a1b2c3d4 aa123456 aa12345678
password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword
pa55word passwort motdepasse contraseña password! password01 mypassword
iloveyou iloveyou1 iloveyou2 sunshine sunshine1 princess princess1 football football1
baseball basketball superman batman123 starwars trustno1 whatever welcome1 welcome123
letmein1 letmein123 monkey123 dragon123 shadow123 master123 killer123 michael1
jennifer jordan23 jessica1 charlie1 michelle computer internet samsung1 iphone123
liverpool chelsea1 arsenal1 manchester blink182 midnight butterfly chocolate
cheese123 pokemon1 minecraft fortnite1 naruto123 spiderman 1password admin123 admin1234
administrator adminadmin root1234 changeme changeme1 default1 secret123 test1234
test12345 testtest guest123 user1234 login123 welcome! qwerty!@# 1234567a 12345qwert
aaaaaaaa abcabcabc asdasdasd qweqweqwe zxczxczxc 123qweasd 123qweasdzxc 1qaz2wsx3edc
q1w2e3r4t5y6 qwertyuiop123 lovelove loveyou1 babygirl1 sweetheart hellokitty
hello123 hello1234 freedom1 whatever1 nothing1 summer2024 summer2025 winter2024
spring2024 autumn2024 january1 december1 matrix123 mustang1 harley123 ranger123
thomas123 buster123 soccer123 hockey123 tigger123 ginger123 pepper123 maggie123
`
    .split(/\s+/)
    .filter((word) => word.length > 0),
);
