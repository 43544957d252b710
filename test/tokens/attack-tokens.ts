/**
 * The concrete tokens of JWT-ATTACKS.md, section by section, exactly as written there
 * (key material: K_HS, K_RSA, K_EC, K_ED, K_ATT; see helpers.ts and vectors/).
 */
export const ATTACK_TOKENS = {
  s1: {
    none: 'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.',
    None: 'eyJhbGciOiJOb25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.',
    NONE: 'eyJhbGciOiJOT05FIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.',
    nOnE: 'eyJhbGciOiJuT25FIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.',
    'none + leftover signature':
      'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.d8BVg06bCliHrKjqTbsFtAMq6gQy8oPMblBVTP0SztA',
    'no alg (MAC-valid)':
      'eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.71KOwO3nNhgfEF9VXFAMnOWnWfVuX0ihGflgJxRjFwo',
    'alg "" (MAC-valid)':
      'eyJhbGciOiIifQ.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.DPXNcxn2xHh-suvMT1E_S2gp6BTY8W5LsrSsxXpCZuI',
    'alg null (MAC-valid)':
      'eyJhbGciOm51bGx9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.lqm2TuCCJuAxdCSGNXPgPx54jhk6SsY-dIK2oeu5OwI',
    'alg ["HS256"] (MAC-valid)':
      'eyJhbGciOlsiSFMyNTYiXX0.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.o7mp2BFqE0DPB3ybUZspx5FI3SRNyWzqyJHb9IX9n4o',
    'alg "hs256" (MAC-valid)':
      'eyJhbGciOiJoczI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.UbE5s991nQLaP1qUPa6sS-44nOku4ooYk4KsAtQ26co',
  },
  s2: {
    'K_RSA as SPKI PEM text incl. final "\\n"':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.uV8gbfb_mlSKpjpFMJGCXNDrgkYhKoqFkVXZBq5VJvs',
    'K_RSA as SPKI PEM text, no final newline':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.aXTut9kHjCt4UDO469LNa4VlpzOBE7oLmqw2yM9QLxY',
    'K_RSA as "\\n" + SPKI PEM (leading-ws bypass)':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.RLO7_FVm-sOA7VZpjn8DxbXFQD3Pa5D98HT2Al9twU4',
    'K_RSA as PKCS#1 PEM ("BEGIN RSA PUBLIC KEY")':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.fg0R0F9LtifvP3zn-FKFUkUGMnk9_6TffPpAqJ0dbpw',
    'K_RSA as SPKI DER bytes':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.djz9vs34IIyL_ZD3KwLnKQuWcA7sjZs7XAtflt7Kzdo',
    'K_RSA as compact JWK JSON {"kty","n","e"}':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.6Dy5Y9e5dWXzDosOqYQdIiRbnjbODzqMRaFY_CqxOe0',
    'K_EC as SPKI PEM text':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.lCMJRfEqT4AVMUZofnoyOUJzXHKIJvDjSq0j_l9KHa4',
    'K_EC as uncompressed point 04||x||y':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9._qaWvMg9Cew7-qt004oa7JhkanjPtFTI4ZkUhNZMz0s',
    'K_ED as raw 32 bytes':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.I4ePBGCKZWMZSSX8zmhqb7aAcjW1EyJ1RzxSw-l6jzc',
    'K_ED as SPKI PEM text':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.wcXTrT7quykTF6jHq5LaZ8Aj0Qqoj0uLyMi9-isK2no',
  },
  s4: {
    'jwk = K_ATT public':
      'eyJhbGciOiJSUzI1NiIsImp3ayI6eyJrdHkiOiJSU0EiLCJuIjoibjRFUHRBT0NjOUFsa2VRSFB6SFN0Z0FiZ3M3YlRaTHdVQlpkUjhfS3VLUEVITGQ0ckhWVGVULU8tWFYyalJvamROaHhKV1REdk5kN25xUTBWRWlaUUh6X0FKbVNDcE1hSk1SQlNGS3JLYjJ3cVZ3R1VfTnNZT1lMLVF0aVdOMmxiemNFZTZYQzBkQXByNXlkUUxySHFrSEhpZzNSQm9yZGFaNkFqLW9CSHFGRUhZcFBlN1RwZS1PZlZmSGQxRTZjUzZNMUZaY0QxTk5MWUQ1bEZIcFBJOWJUd0psc2RlM3VoR3FDMFpDdUVIZzhsaHp3T0hydElRYlMwRlZiYjlrMy10VlRVNGZnXzNMX3ZuaVVGQUt3dUNMcUtuUzJCWXdkcV9telNuYkxZN2hfcWl4b1I3amlnM19fa1JodWF4d1VrUno1aWFpUWtxZ2M1Z0hkck5QNXp3IiwiZSI6IkFRQUIifX0.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.UwRgPT3QgiOfzPnGGRyFlxjow9OY6ErOhBdUtorm_Q0wWUIx4OedENjGNf-oSRDL42vhE3nRHlB3GXMRjdhWqfnSLKTklvDy6Hl5WxcaecpopU6swQbCsxYeYCy8_HMQLofY4mj-EI17FWxdrxP_nodYzEjXFyc2d9oXM7Ao2jAaxCScHW-M7OqMveICLEFPw8yG3VBH9WUTQOHQOpe9NyalMytB_KRcJRcCeDf7wkKv5dDW2xxnZUj7pJTsad1dT7ZOjSI3I68d_zwKR74ltjpMen-rJ2JDpV6yjaF2j1Yg5EetyzU-SjPLLrkdEihF1W07heo7ad5gMNB3uHedmQ',
    'jku = attacker URL':
      'eyJhbGciOiJSUzI1NiIsImprdSI6Imh0dHBzOi8vYXR0YWNrZXIuZXhhbXBsZS8ud2VsbC1rbm93bi9qd2tzLmpzb24iLCJraWQiOiJiaWxiby5iYWdnaW5zQGhvYmJpdG9uLmV4YW1wbGUifQ.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.YfHmsxEnS5IBJbJUaUUkHymRdb9BmFbJWaln5LGqhmPzPmEXGRTDudD6ZVhWqRnsl2qrU9gRavM1OC6AhtQmB-mpsiJXfyceMgOVrXMSqIHwENHToCrslAOvrtNN_N8qjsgQ3JPIsrH6J45B3o5qLlLqDTIwdwgDptaePtbnN1SzTlsE4fCs4QKfid2Ti_36y-EBxzhauUWcdDIxry_g_gtktVEElF6eykZMpJI9L93Hn-B2R7CUS_cMpplIRtcZYFXUbHDt1eTpF0PW4ObpzXFJ0dizX7wRnudQyuXfYzzMK7XVeADfBousdTXtonihpFQ-M6d5zKZG4xu4qQqUJQ',
    'x5u = attacker URL':
      'eyJhbGciOiJSUzI1NiIsIng1dSI6Imh0dHBzOi8vYXR0YWNrZXIuZXhhbXBsZS9jZXJ0LnBlbSJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.EFFfryc20wCBMWlRxW1tEqQELjwXAiH4Yq5uMvWEJoyawBXgqpo3fb5aiOa3v1mtDcwerWdL2cngZE7dey8rPLZwVzli63DRT3v_q7vVV9rbE2thzQ_1EJx9ihV6GS19g4Qg4Pzbuc2crZts06PESAdyZZPKou8WIMzVngb0Em9PhzkZoB3dLyDzohGjoJSfPMvuYXD8QGxMomaSZ3bjS0wcyTWHoxqdXGOyGY0XsNIWXcDiF0oH9sRC1oHc1UkqoU2iTyPo3vpFvwjlngOIvzMK3PY_h9vRbwPStX0_xUebOpwwthLdKL84ff-fCPBq7Ps1xj7YPCy7yW422OjNYA',
  },
  s5: {
    'kid ../../../../../../dev/null, HMAC key = empty':
      'eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLy4uLy4uLy4uLy4uLy4uL2Rldi9udWxsIn0.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.qv0NYMq3ICZRJCk6FP_eaDBtJzgJlNT2YnQQEcujKZs',
    "kid x' UNION SELECT '1';--, HMAC key = \"1\"":
      'eyJhbGciOiJIUzI1NiIsImtpZCI6IngnIFVOSU9OIFNFTEVDVCAnMSc7LS0ifQ.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.RaOG6UawVySj7VaJnOfwcEWlVfNOC9K0poThDSTndiI',
    'kid key1|/usr/bin/id (MAC-valid)':
      'eyJhbGciOiJIUzI1NiIsImtpZCI6ImtleTF8L3Vzci9iaW4vaWQifQ.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.7bcpHTgu4XlZvwinXD0xiynJNRztUa4r4Nxf3NWhBLo',
    'kid 0 (number, MAC-valid)':
      'eyJhbGciOiJIUzI1NiIsImtpZCI6MH0.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.LP8VubQ-jShryWwiQ1qAmzQV8vuSjxOREE4gDPo_wCU',
    'kid {"$ne":null} (MAC-valid)':
      'eyJhbGciOiJIUzI1NiIsImtpZCI6eyIkbmUiOm51bGx9fQ.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.rC0EQqnOLf8uODp1Y0_fYul2qj1lymLrLMFMngsX1II',
    'kid __proto__, HMAC key = empty':
      'eyJhbGciOiJIUzI1NiIsImtpZCI6Il9fcHJvdG9fXyJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.7Td-xRIvXKTc4gtCJiLdGDcjDDUQwbKoE3sqz_Oeq7g',
  },
  s6: {
    'crit ["urn:example:policy"] + member present':
      'eyJhbGciOiJIUzI1NiIsImNyaXQiOlsidXJuOmV4YW1wbGU6cG9saWN5Il0sInVybjpleGFtcGxlOnBvbGljeSI6InJlcXVpcmUtbWZhIn0.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.PnMVDelT4-6KlBrGAWL5ZDsU6l-2sU4OBTkOeyxN8DA',
    'crit []':
      'eyJhbGciOiJIUzI1NiIsImNyaXQiOltdfQ.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.JWFuH4BSNYL5HCkwcf2oBjOL2EYYqttklmT6FyXoil4',
    'crit "exp" (not an array)':
      'eyJhbGciOiJIUzI1NiIsImNyaXQiOiJleHAifQ.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.lDjrBiJeD-9Ur1QeEUyOX_-1TQp8tW3O3MYRFHnE6hA',
    'crit ["alg"] (registered name)':
      'eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiYWxnIl19.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.2Qp5oUP77335nSkIa7yfvLjTynDXuwMlhwFWrarMQZw',
    'crit lists a member that is absent':
      'eyJhbGciOiJIUzI1NiIsImNyaXQiOlsidXJuOmV4YW1wbGU6cG9saWN5Il19.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.xTiRizrvSKe2kOGVSpbHVPO3-BCSpXw62inLAFj2AdA',
    'crit ["__proto__"] (member "absent")':
      'eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiX19wcm90b19fIl19.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.jySYuAehwmSBNhfxgNywjhDs5br0DzmrQKwXTnRlszg',
  },
  s7: {
    b64_false_compact:
      'eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19.{"sub":"admin","admin":true,"exp":4102444800}.Q2-hbHaLBt7UAp5TvccdVexqQezmXzv1mmqeztlUIzY',
    b64_false_no_crit:
      'eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2V9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.ZO559Tupbwvw5s-gohKoLxdL3W-tlA1Vb-TMyl1-3c8',
  },
  s8: {
    'r = s = 0 (64 zero bytes)':
      'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'r = s = n':
      'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9._____wAAAAD__________7zm-q2nF56E87nKwvxjJVH_____AAAAAP__________vOb6racXnoTzucrC_GMlUQ',
    'RFC 7515 A.3 signature re-encoded as DER':
      'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.MEUCIA7RIVN5Y2xIPC9_FVgH1AKjsigDOvl8fheBmsMWnqZlAiEAxQoH04w8cOXY8S2vCEpUgKZlkMXyk1Cajz9_ioOjVNU',
    'RFC 7515 A.3 signature truncated to 63 bytes':
      'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU',
    'RFC 7515 A.3 with s replaced by n\u2212s ("high-s")':
      'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmU69fgrc8OPGycO0lD3tat_FoFp57SETepkeks4eL_QfA',
  },
  s9: {
    'S + L':
      'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6KLa6_pyZkOh9Vg8wkiO1VhVsPt9g7sVvpAr_MuM0KEg',
  },
  s11: {
    'RS256 header, empty signature':
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.',
    'two segments only':
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9',
    "HS256 MAC'ed with the empty key":
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.OyZ7vrOoCUECk_x-eImuiqehusx6izKER6DnrZwilro',
  },
  s13: {
    'header {"alg":"none","alg":"HS256"}':
      'eyJhbGciOiJub25lIiwiYWxnIjoiSFMyNTYifQ.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.sS5XzC44MY-b0y4HyjaHYQXKQFNYUDVa70V8jrGqL0s',
    'header {"alg":"HS256","alg":"none"}':
      'eyJhbGciOiJIUzI1NiIsImFsZyI6Im5vbmUifQ.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.aF_W42wB2VaHI-JTHqPqdgb4kQ7mffJdjMReEHgryZo',
    'claims {"sub":"user","sub":"admin",...}':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIiwic3ViIjoiYWRtaW4iLCJleHAiOjQxMDI0NDQ4MDB9.OmSLuDRBIuygKRxIfzFwItbjwyT2xFXy7j_JLqx-UB4',
    'claims {"sub":"user","s\\u0075b":"admin",...}':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIiwic1x1MDA3NWIiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH0.hvnQSGPCtCosULcBfsBRDBRxLBewdy17khwe0gGK_us',
  },
  s14: {
    '"=" appended to the signature':
      'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk=',
    'last signature char k->l (same bytes, unused bits set)':
      'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl',
    'A.2 signature in the standard alphabet (+ and /)':
      'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB//dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh+0Qc/lF5YKt/O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB++f/nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB/eSN9383LcOLn6/dO++xi12jzDwusC+eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN/IoypGlUPQGe77Rw',
    'payload segment with "=" (MAC computed over it)':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9=.t4qKeGYL_4oTj0tcR8d85TcUIvVRsL2wtfwxWM0j0i8',
  },
  s15: {
    'header is [ "HS256" ]':
      'WyJIUzI1NiJd.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.AbsSjLI8oXulKXaxMGcNpQnoaFIsvhw967pQ0V8i9n8',
    'header is null':
      'bnVsbA.eyJzdWIiOiJhZG1pbiIsImFkbWluIjp0cnVlLCJleHAiOjQxMDI0NDQ4MDB9.bD3m2i4OkwRZgajn9C2eiSsXvUDF7svOSyg9axQ6vOA',
    'claims []': 'eyJhbGciOiJIUzI1NiJ9.W10.AZKR_xrHdpW8pzhelEIEJI-oWzYUaMGTsp1NtVEnmrI',
    'claims null': 'eyJhbGciOiJIUzI1NiJ9.bnVsbA.sH8_lvZ3wCQYfu0OqSoWFTUjYRGl00DPnFF_cdKvzNU',
    'claims "admin"': 'eyJhbGciOiJIUzI1NiJ9.ImFkbWluIg.7T8TqMeoS1HKf5LK8flmY2sROKd5rYJ7Xnmht1-OBCA',
    'claims 4102444800':
      'eyJhbGciOiJIUzI1NiJ9.NDEwMjQ0NDgwMA.rXvUnEqrSq45BSjAMDyGlHgqNvbIS94UBmoS7dTzVgY',
    'claims with bytes C0 AF':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiLAryIsImV4cCI6NDEwMjQ0NDgwMH0.Uth36KU33U31TiygKGReszhrNxojv54gfPuZY9Pe1w8',
    'claims followed by "x"':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH14.2SZyvbRUjpNMcOM69NzOG1zyJY8-3IKAadAZFOO4oEA',
    'claims preceded by a UTF-8 BOM':
      'eyJhbGciOiJIUzI1NiJ9.77u_eyJzdWIiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMH0.3eHnptydl58KsYQOU_sX4Gzu9mrGz_tvsV0p-blqEoc',
    'claims with "\\ud800"':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJcdWQ4MDAiLCJleHAiOjQxMDI0NDQ4MDB9.9l89omDyEoTKP4yMHihA_8F4dhaSmSwnEEWxVzaeHTA',
  },
  s17: {
    'exp "4102444800" (string)':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6IjQxMDI0NDQ4MDAifQ.CTiRjzA1IifsDbTDOMgvYK7V3lY-47zKEGqDNwCYhf8',
    'exp null':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6bnVsbH0.Cniv_QxndWJa9qcijbDCzZAN9s5Fh9AYZf4iM9GbtbA',
    'exp true':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6dHJ1ZX0.Jwj-89iFoML_jVgHPuIUp5tsFa7RtEo8IBFmtMCiddc',
    'exp [4102444800]':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6WzQxMDI0NDQ4MDBdfQ.O9TEt05eyjXu2myNGX6K1VvBhmBmvip2eCLc7ozoILI',
    'exp {}':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6e319._xZAWKBw1LuEH7VN7WKBvWXoTnL9SnP-fDl4crznVGE',
    'exp 1e400 (-> Infinity)':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6MWU0MDB9.NGYs1iLjsGihQuJKg-eai01UaT6xsC_vGTJpc-2nA8A',
    'exp -1':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6LTF9.6mnqSTg1hwxGd0Dja41Z62qXE6AMgKzDy-SLvGZhjD0',
    'exp 1300819380.5 (past)':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6MTMwMDgxOTM4MC41fQ.NB3qv64GYhZsLhVCBLjK3QCD5rTwvZRgFeNIQCPU28Q',
    'exp 4102444800.5 (future)':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6NDEwMjQ0NDgwMC41fQ.rFlH50qrlyGqkKW_iyALWjxwxzgRfs4PjiDYdCdlxOE',
    'exp 9007199254740993 (>2^53)':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6OTAwNzE5OTI1NDc0MDk5M30.PKlcgezOnrWmQQgxfm5A0qTSnkVsd-PZUdYthUZqP5Y',
    'nbf 4102444800 (future)':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsIm5iZiI6NDEwMjQ0NDgwMCwiZXhwIjo0MTAyNDQ0ODAxfQ.THCmDxDmD63pxNC7dYG7b9SHgKrKr9JvolLiNbLLIro',
    'nbf {}':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsIm5iZiI6e30sImV4cCI6NDEwMjQ0NDgwMH0.EtC6bhzKT-iIWxl1_Vuii-BaSYT--o4YAslPX9Fxej4',
    'iat 4102444800 (future)':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImlhdCI6NDEwMjQ0NDgwMCwiZXhwIjo0MTAyNDQ0ODAxfQ.0p_B0mwpMXEsq1vZYmI7fzoQ152EpixjpqpZQ6NBqVE',
  },
  s18: {
    'sub 1':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjEsImV4cCI6NDEwMjQ0NDgwMH0.jmgk22lQ0V7ZltSEdW7csmuCfOeGK1c8-s4lRjBi0Zc',
    'sub {"$ne":""}':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOnsiJG5lIjoiIn0sImV4cCI6NDEwMjQ0NDgwMH0.eVGW_kRdABmihPXtl4NwH2ij4-Oq6DE8ZsJgd215xmE',
    'iss ["https://evil.example","https://issuer.example"]':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImlzcyI6WyJodHRwczovL2V2aWwuZXhhbXBsZSIsImh0dHBzOi8vaXNzdWVyLmV4YW1wbGUiXSwiZXhwIjo0MTAyNDQ0ODAwfQ.xvdHiTiPZx6SxJ2YcPlTErx2e6kkcSjMK4_pVuDp8C0',
    'aud 1':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImF1ZCI6MSwiZXhwIjo0MTAyNDQ0ODAwfQ.e_vg_d0HSaHKcEqXCdy_RgV-kQS1-v_lXeX7_EAq0AE',
    'claims {"sub":"user","__proto__":{"admin":true},...}':
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIiwiX19wcm90b19fIjp7ImFkbWluIjp0cnVlfSwiZXhwIjo0MTAyNDQ0ODAwfQ.9-H5NvProOMv-izL9yV-MRUnLhmQjmqVTVC1yY1KwlA',
  },
} as const;
